import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Attempt as _trellis_v1_Attempt, Attempt__Output as _trellis_v1_Attempt__Output } from './trellis/v1/Attempt.js';
import type { Best as _trellis_v1_Best, Best__Output as _trellis_v1_Best__Output } from './trellis/v1/Best.js';
import type { CancelExperimentRequest as _trellis_v1_CancelExperimentRequest, CancelExperimentRequest__Output as _trellis_v1_CancelExperimentRequest__Output } from './trellis/v1/CancelExperimentRequest.js';
import type { CancelExperimentResponse as _trellis_v1_CancelExperimentResponse, CancelExperimentResponse__Output as _trellis_v1_CancelExperimentResponse__Output } from './trellis/v1/CancelExperimentResponse.js';
import type { Event as _trellis_v1_Event, Event__Output as _trellis_v1_Event__Output } from './trellis/v1/Event.js';
import type { Experiment as _trellis_v1_Experiment, Experiment__Output as _trellis_v1_Experiment__Output } from './trellis/v1/Experiment.js';
import type { ExperimentServiceClient as _trellis_v1_ExperimentServiceClient, ExperimentServiceDefinition as _trellis_v1_ExperimentServiceDefinition } from './trellis/v1/ExperimentService.js';
import type { ExportMetricsRequest as _trellis_v1_ExportMetricsRequest, ExportMetricsRequest__Output as _trellis_v1_ExportMetricsRequest__Output } from './trellis/v1/ExportMetricsRequest.js';
import type { ExportMetricsResponse as _trellis_v1_ExportMetricsResponse, ExportMetricsResponse__Output as _trellis_v1_ExportMetricsResponse__Output } from './trellis/v1/ExportMetricsResponse.js';
import type { GetExperimentRequest as _trellis_v1_GetExperimentRequest, GetExperimentRequest__Output as _trellis_v1_GetExperimentRequest__Output } from './trellis/v1/GetExperimentRequest.js';
import type { GetExperimentResponse as _trellis_v1_GetExperimentResponse, GetExperimentResponse__Output as _trellis_v1_GetExperimentResponse__Output } from './trellis/v1/GetExperimentResponse.js';
import type { ListExperimentsRequest as _trellis_v1_ListExperimentsRequest, ListExperimentsRequest__Output as _trellis_v1_ListExperimentsRequest__Output } from './trellis/v1/ListExperimentsRequest.js';
import type { ListExperimentsResponse as _trellis_v1_ListExperimentsResponse, ListExperimentsResponse__Output as _trellis_v1_ListExperimentsResponse__Output } from './trellis/v1/ListExperimentsResponse.js';
import type { ListTrialsRequest as _trellis_v1_ListTrialsRequest, ListTrialsRequest__Output as _trellis_v1_ListTrialsRequest__Output } from './trellis/v1/ListTrialsRequest.js';
import type { ListTrialsResponse as _trellis_v1_ListTrialsResponse, ListTrialsResponse__Output as _trellis_v1_ListTrialsResponse__Output } from './trellis/v1/ListTrialsResponse.js';
import type { MetricRow as _trellis_v1_MetricRow, MetricRow__Output as _trellis_v1_MetricRow__Output } from './trellis/v1/MetricRow.js';
import type { SubmitExperimentRequest as _trellis_v1_SubmitExperimentRequest, SubmitExperimentRequest__Output as _trellis_v1_SubmitExperimentRequest__Output } from './trellis/v1/SubmitExperimentRequest.js';
import type { SubmitExperimentResponse as _trellis_v1_SubmitExperimentResponse, SubmitExperimentResponse__Output as _trellis_v1_SubmitExperimentResponse__Output } from './trellis/v1/SubmitExperimentResponse.js';
import type { Trial as _trellis_v1_Trial, Trial__Output as _trellis_v1_Trial__Output } from './trellis/v1/Trial.js';
import type { WatchEventsRequest as _trellis_v1_WatchEventsRequest, WatchEventsRequest__Output as _trellis_v1_WatchEventsRequest__Output } from './trellis/v1/WatchEventsRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  trellis: {
    v1: {
      Attempt: MessageTypeDefinition<_trellis_v1_Attempt, _trellis_v1_Attempt__Output>
      Best: MessageTypeDefinition<_trellis_v1_Best, _trellis_v1_Best__Output>
      CancelExperimentRequest: MessageTypeDefinition<_trellis_v1_CancelExperimentRequest, _trellis_v1_CancelExperimentRequest__Output>
      CancelExperimentResponse: MessageTypeDefinition<_trellis_v1_CancelExperimentResponse, _trellis_v1_CancelExperimentResponse__Output>
      Event: MessageTypeDefinition<_trellis_v1_Event, _trellis_v1_Event__Output>
      Experiment: MessageTypeDefinition<_trellis_v1_Experiment, _trellis_v1_Experiment__Output>
      ExperimentService: SubtypeConstructor<typeof grpc.Client, _trellis_v1_ExperimentServiceClient> & { service: _trellis_v1_ExperimentServiceDefinition }
      ExportMetricsRequest: MessageTypeDefinition<_trellis_v1_ExportMetricsRequest, _trellis_v1_ExportMetricsRequest__Output>
      ExportMetricsResponse: MessageTypeDefinition<_trellis_v1_ExportMetricsResponse, _trellis_v1_ExportMetricsResponse__Output>
      GetExperimentRequest: MessageTypeDefinition<_trellis_v1_GetExperimentRequest, _trellis_v1_GetExperimentRequest__Output>
      GetExperimentResponse: MessageTypeDefinition<_trellis_v1_GetExperimentResponse, _trellis_v1_GetExperimentResponse__Output>
      ListExperimentsRequest: MessageTypeDefinition<_trellis_v1_ListExperimentsRequest, _trellis_v1_ListExperimentsRequest__Output>
      ListExperimentsResponse: MessageTypeDefinition<_trellis_v1_ListExperimentsResponse, _trellis_v1_ListExperimentsResponse__Output>
      ListTrialsRequest: MessageTypeDefinition<_trellis_v1_ListTrialsRequest, _trellis_v1_ListTrialsRequest__Output>
      ListTrialsResponse: MessageTypeDefinition<_trellis_v1_ListTrialsResponse, _trellis_v1_ListTrialsResponse__Output>
      MetricRow: MessageTypeDefinition<_trellis_v1_MetricRow, _trellis_v1_MetricRow__Output>
      SubmitExperimentRequest: MessageTypeDefinition<_trellis_v1_SubmitExperimentRequest, _trellis_v1_SubmitExperimentRequest__Output>
      SubmitExperimentResponse: MessageTypeDefinition<_trellis_v1_SubmitExperimentResponse, _trellis_v1_SubmitExperimentResponse__Output>
      Trial: MessageTypeDefinition<_trellis_v1_Trial, _trellis_v1_Trial__Output>
      WatchEventsRequest: MessageTypeDefinition<_trellis_v1_WatchEventsRequest, _trellis_v1_WatchEventsRequest__Output>
    }
  }
}

