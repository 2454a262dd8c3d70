import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ListValue as _google_protobuf_ListValue, ListValue__Output as _google_protobuf_ListValue__Output } from './google/protobuf/ListValue.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from './google/protobuf/Struct.js';
import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from './google/protobuf/Value.js';
import type { ArtifactDownloadHeader as _trellis_v1_ArtifactDownloadHeader, ArtifactDownloadHeader__Output as _trellis_v1_ArtifactDownloadHeader__Output } from './trellis/v1/ArtifactDownloadHeader.js';
import type { ArtifactUploadHeader as _trellis_v1_ArtifactUploadHeader, ArtifactUploadHeader__Output as _trellis_v1_ArtifactUploadHeader__Output } from './trellis/v1/ArtifactUploadHeader.js';
import type { Assignment as _trellis_v1_Assignment, Assignment__Output as _trellis_v1_Assignment__Output } from './trellis/v1/Assignment.js';
import type { Attempt as _trellis_v1_Attempt, Attempt__Output as _trellis_v1_Attempt__Output } from './trellis/v1/Attempt.js';
import type { AttemptFailure as _trellis_v1_AttemptFailure, AttemptFailure__Output as _trellis_v1_AttemptFailure__Output } from './trellis/v1/AttemptFailure.js';
import type { AttemptLog as _trellis_v1_AttemptLog, AttemptLog__Output as _trellis_v1_AttemptLog__Output } from './trellis/v1/AttemptLog.js';
import type { AttemptOutput as _trellis_v1_AttemptOutput, AttemptOutput__Output as _trellis_v1_AttemptOutput__Output } from './trellis/v1/AttemptOutput.js';
import type { AttemptResult as _trellis_v1_AttemptResult, AttemptResult__Output as _trellis_v1_AttemptResult__Output } from './trellis/v1/AttemptResult.js';
import type { AttemptStopped as _trellis_v1_AttemptStopped, AttemptStopped__Output as _trellis_v1_AttemptStopped__Output } from './trellis/v1/AttemptStopped.js';
import type { Best as _trellis_v1_Best, Best__Output as _trellis_v1_Best__Output } from './trellis/v1/Best.js';
import type { CancelExperimentRequest as _trellis_v1_CancelExperimentRequest, CancelExperimentRequest__Output as _trellis_v1_CancelExperimentRequest__Output } from './trellis/v1/CancelExperimentRequest.js';
import type { CancelExperimentResponse as _trellis_v1_CancelExperimentResponse, CancelExperimentResponse__Output as _trellis_v1_CancelExperimentResponse__Output } from './trellis/v1/CancelExperimentResponse.js';
import type { CheckpointSaved as _trellis_v1_CheckpointSaved, CheckpointSaved__Output as _trellis_v1_CheckpointSaved__Output } from './trellis/v1/CheckpointSaved.js';
import type { CoordinatorMessage as _trellis_v1_CoordinatorMessage, CoordinatorMessage__Output as _trellis_v1_CoordinatorMessage__Output } from './trellis/v1/CoordinatorMessage.js';
import type { Drain as _trellis_v1_Drain, Drain__Output as _trellis_v1_Drain__Output } from './trellis/v1/Drain.js';
import type { DrainWorkerRequest as _trellis_v1_DrainWorkerRequest, DrainWorkerRequest__Output as _trellis_v1_DrainWorkerRequest__Output } from './trellis/v1/DrainWorkerRequest.js';
import type { DrainWorkerResponse as _trellis_v1_DrainWorkerResponse, DrainWorkerResponse__Output as _trellis_v1_DrainWorkerResponse__Output } from './trellis/v1/DrainWorkerResponse.js';
import type { Draining as _trellis_v1_Draining, Draining__Output as _trellis_v1_Draining__Output } from './trellis/v1/Draining.js';
import type { Event as _trellis_v1_Event, Event__Output as _trellis_v1_Event__Output } from './trellis/v1/Event.js';
import type { Experiment as _trellis_v1_Experiment, Experiment__Output as _trellis_v1_Experiment__Output } from './trellis/v1/Experiment.js';
import type { ExperimentServiceClient as _trellis_v1_ExperimentServiceClient, ExperimentServiceDefinition as _trellis_v1_ExperimentServiceDefinition } from './trellis/v1/ExperimentService.js';
import type { ExportMetricsRequest as _trellis_v1_ExportMetricsRequest, ExportMetricsRequest__Output as _trellis_v1_ExportMetricsRequest__Output } from './trellis/v1/ExportMetricsRequest.js';
import type { ExportMetricsResponse as _trellis_v1_ExportMetricsResponse, ExportMetricsResponse__Output as _trellis_v1_ExportMetricsResponse__Output } from './trellis/v1/ExportMetricsResponse.js';
import type { GetArtifactRequest as _trellis_v1_GetArtifactRequest, GetArtifactRequest__Output as _trellis_v1_GetArtifactRequest__Output } from './trellis/v1/GetArtifactRequest.js';
import type { GetArtifactResponse as _trellis_v1_GetArtifactResponse, GetArtifactResponse__Output as _trellis_v1_GetArtifactResponse__Output } from './trellis/v1/GetArtifactResponse.js';
import type { GetArtifactStreamRequest as _trellis_v1_GetArtifactStreamRequest, GetArtifactStreamRequest__Output as _trellis_v1_GetArtifactStreamRequest__Output } from './trellis/v1/GetArtifactStreamRequest.js';
import type { GetArtifactStreamResponse as _trellis_v1_GetArtifactStreamResponse, GetArtifactStreamResponse__Output as _trellis_v1_GetArtifactStreamResponse__Output } from './trellis/v1/GetArtifactStreamResponse.js';
import type { GetArtifactUploadStatusRequest as _trellis_v1_GetArtifactUploadStatusRequest, GetArtifactUploadStatusRequest__Output as _trellis_v1_GetArtifactUploadStatusRequest__Output } from './trellis/v1/GetArtifactUploadStatusRequest.js';
import type { GetArtifactUploadStatusResponse as _trellis_v1_GetArtifactUploadStatusResponse, GetArtifactUploadStatusResponse__Output as _trellis_v1_GetArtifactUploadStatusResponse__Output } from './trellis/v1/GetArtifactUploadStatusResponse.js';
import type { GetAttemptLogRequest as _trellis_v1_GetAttemptLogRequest, GetAttemptLogRequest__Output as _trellis_v1_GetAttemptLogRequest__Output } from './trellis/v1/GetAttemptLogRequest.js';
import type { GetAttemptLogResponse as _trellis_v1_GetAttemptLogResponse, GetAttemptLogResponse__Output as _trellis_v1_GetAttemptLogResponse__Output } from './trellis/v1/GetAttemptLogResponse.js';
import type { GetExperimentRequest as _trellis_v1_GetExperimentRequest, GetExperimentRequest__Output as _trellis_v1_GetExperimentRequest__Output } from './trellis/v1/GetExperimentRequest.js';
import type { GetExperimentResponse as _trellis_v1_GetExperimentResponse, GetExperimentResponse__Output as _trellis_v1_GetExperimentResponse__Output } from './trellis/v1/GetExperimentResponse.js';
import type { Gpu as _trellis_v1_Gpu, Gpu__Output as _trellis_v1_Gpu__Output } from './trellis/v1/Gpu.js';
import type { GpuMemory as _trellis_v1_GpuMemory, GpuMemory__Output as _trellis_v1_GpuMemory__Output } from './trellis/v1/GpuMemory.js';
import type { Heartbeat as _trellis_v1_Heartbeat, Heartbeat__Output as _trellis_v1_Heartbeat__Output } from './trellis/v1/Heartbeat.js';
import type { Hello as _trellis_v1_Hello, Hello__Output as _trellis_v1_Hello__Output } from './trellis/v1/Hello.js';
import type { ListExperimentsRequest as _trellis_v1_ListExperimentsRequest, ListExperimentsRequest__Output as _trellis_v1_ListExperimentsRequest__Output } from './trellis/v1/ListExperimentsRequest.js';
import type { ListExperimentsResponse as _trellis_v1_ListExperimentsResponse, ListExperimentsResponse__Output as _trellis_v1_ListExperimentsResponse__Output } from './trellis/v1/ListExperimentsResponse.js';
import type { ListTrialsRequest as _trellis_v1_ListTrialsRequest, ListTrialsRequest__Output as _trellis_v1_ListTrialsRequest__Output } from './trellis/v1/ListTrialsRequest.js';
import type { ListTrialsResponse as _trellis_v1_ListTrialsResponse, ListTrialsResponse__Output as _trellis_v1_ListTrialsResponse__Output } from './trellis/v1/ListTrialsResponse.js';
import type { ListWorkersRequest as _trellis_v1_ListWorkersRequest, ListWorkersRequest__Output as _trellis_v1_ListWorkersRequest__Output } from './trellis/v1/ListWorkersRequest.js';
import type { ListWorkersResponse as _trellis_v1_ListWorkersResponse, ListWorkersResponse__Output as _trellis_v1_ListWorkersResponse__Output } from './trellis/v1/ListWorkersResponse.js';
import type { MetricRow as _trellis_v1_MetricRow, MetricRow__Output as _trellis_v1_MetricRow__Output } from './trellis/v1/MetricRow.js';
import type { ParetoFront as _trellis_v1_ParetoFront, ParetoFront__Output as _trellis_v1_ParetoFront__Output } from './trellis/v1/ParetoFront.js';
import type { ParetoPoint as _trellis_v1_ParetoPoint, ParetoPoint__Output as _trellis_v1_ParetoPoint__Output } from './trellis/v1/ParetoPoint.js';
import type { Progress as _trellis_v1_Progress, Progress__Output as _trellis_v1_Progress__Output } from './trellis/v1/Progress.js';
import type { PutArtifactRequest as _trellis_v1_PutArtifactRequest, PutArtifactRequest__Output as _trellis_v1_PutArtifactRequest__Output } from './trellis/v1/PutArtifactRequest.js';
import type { PutArtifactResponse as _trellis_v1_PutArtifactResponse, PutArtifactResponse__Output as _trellis_v1_PutArtifactResponse__Output } from './trellis/v1/PutArtifactResponse.js';
import type { PutArtifactStreamRequest as _trellis_v1_PutArtifactStreamRequest, PutArtifactStreamRequest__Output as _trellis_v1_PutArtifactStreamRequest__Output } from './trellis/v1/PutArtifactStreamRequest.js';
import type { Slots as _trellis_v1_Slots, Slots__Output as _trellis_v1_Slots__Output } from './trellis/v1/Slots.js';
import type { Stop as _trellis_v1_Stop, Stop__Output as _trellis_v1_Stop__Output } from './trellis/v1/Stop.js';
import type { SubmitExperimentRequest as _trellis_v1_SubmitExperimentRequest, SubmitExperimentRequest__Output as _trellis_v1_SubmitExperimentRequest__Output } from './trellis/v1/SubmitExperimentRequest.js';
import type { SubmitExperimentResponse as _trellis_v1_SubmitExperimentResponse, SubmitExperimentResponse__Output as _trellis_v1_SubmitExperimentResponse__Output } from './trellis/v1/SubmitExperimentResponse.js';
import type { Trial as _trellis_v1_Trial, Trial__Output as _trellis_v1_Trial__Output } from './trellis/v1/Trial.js';
import type { WatchAttemptLogRequest as _trellis_v1_WatchAttemptLogRequest, WatchAttemptLogRequest__Output as _trellis_v1_WatchAttemptLogRequest__Output } from './trellis/v1/WatchAttemptLogRequest.js';
import type { WatchAttemptLogResponse as _trellis_v1_WatchAttemptLogResponse, WatchAttemptLogResponse__Output as _trellis_v1_WatchAttemptLogResponse__Output } from './trellis/v1/WatchAttemptLogResponse.js';
import type { WatchEventsRequest as _trellis_v1_WatchEventsRequest, WatchEventsRequest__Output as _trellis_v1_WatchEventsRequest__Output } from './trellis/v1/WatchEventsRequest.js';
import type { Welcome as _trellis_v1_Welcome, Welcome__Output as _trellis_v1_Welcome__Output } from './trellis/v1/Welcome.js';
import type { WorkerInfo as _trellis_v1_WorkerInfo, WorkerInfo__Output as _trellis_v1_WorkerInfo__Output } from './trellis/v1/WorkerInfo.js';
import type { WorkerMessage as _trellis_v1_WorkerMessage, WorkerMessage__Output as _trellis_v1_WorkerMessage__Output } from './trellis/v1/WorkerMessage.js';
import type { WorkerServiceClient as _trellis_v1_WorkerServiceClient, WorkerServiceDefinition as _trellis_v1_WorkerServiceDefinition } from './trellis/v1/WorkerService.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      ListValue: MessageTypeDefinition<_google_protobuf_ListValue, _google_protobuf_ListValue__Output>
      NullValue: EnumTypeDefinition
      Struct: MessageTypeDefinition<_google_protobuf_Struct, _google_protobuf_Struct__Output>
      Value: MessageTypeDefinition<_google_protobuf_Value, _google_protobuf_Value__Output>
    }
  }
  trellis: {
    v1: {
      ArtifactDownloadHeader: MessageTypeDefinition<_trellis_v1_ArtifactDownloadHeader, _trellis_v1_ArtifactDownloadHeader__Output>
      ArtifactUploadHeader: MessageTypeDefinition<_trellis_v1_ArtifactUploadHeader, _trellis_v1_ArtifactUploadHeader__Output>
      Assignment: MessageTypeDefinition<_trellis_v1_Assignment, _trellis_v1_Assignment__Output>
      Attempt: MessageTypeDefinition<_trellis_v1_Attempt, _trellis_v1_Attempt__Output>
      AttemptFailure: MessageTypeDefinition<_trellis_v1_AttemptFailure, _trellis_v1_AttemptFailure__Output>
      AttemptLog: MessageTypeDefinition<_trellis_v1_AttemptLog, _trellis_v1_AttemptLog__Output>
      AttemptOutput: MessageTypeDefinition<_trellis_v1_AttemptOutput, _trellis_v1_AttemptOutput__Output>
      AttemptResult: MessageTypeDefinition<_trellis_v1_AttemptResult, _trellis_v1_AttemptResult__Output>
      AttemptStatus: EnumTypeDefinition
      AttemptStopped: MessageTypeDefinition<_trellis_v1_AttemptStopped, _trellis_v1_AttemptStopped__Output>
      Best: MessageTypeDefinition<_trellis_v1_Best, _trellis_v1_Best__Output>
      CancelExperimentRequest: MessageTypeDefinition<_trellis_v1_CancelExperimentRequest, _trellis_v1_CancelExperimentRequest__Output>
      CancelExperimentResponse: MessageTypeDefinition<_trellis_v1_CancelExperimentResponse, _trellis_v1_CancelExperimentResponse__Output>
      CheckpointSaved: MessageTypeDefinition<_trellis_v1_CheckpointSaved, _trellis_v1_CheckpointSaved__Output>
      CoordinatorMessage: MessageTypeDefinition<_trellis_v1_CoordinatorMessage, _trellis_v1_CoordinatorMessage__Output>
      Drain: MessageTypeDefinition<_trellis_v1_Drain, _trellis_v1_Drain__Output>
      DrainWorkerRequest: MessageTypeDefinition<_trellis_v1_DrainWorkerRequest, _trellis_v1_DrainWorkerRequest__Output>
      DrainWorkerResponse: MessageTypeDefinition<_trellis_v1_DrainWorkerResponse, _trellis_v1_DrainWorkerResponse__Output>
      Draining: MessageTypeDefinition<_trellis_v1_Draining, _trellis_v1_Draining__Output>
      Event: MessageTypeDefinition<_trellis_v1_Event, _trellis_v1_Event__Output>
      Experiment: MessageTypeDefinition<_trellis_v1_Experiment, _trellis_v1_Experiment__Output>
      ExperimentService: SubtypeConstructor<typeof grpc.Client, _trellis_v1_ExperimentServiceClient> & { service: _trellis_v1_ExperimentServiceDefinition }
      ExperimentStatus: EnumTypeDefinition
      ExportMetricsRequest: MessageTypeDefinition<_trellis_v1_ExportMetricsRequest, _trellis_v1_ExportMetricsRequest__Output>
      ExportMetricsResponse: MessageTypeDefinition<_trellis_v1_ExportMetricsResponse, _trellis_v1_ExportMetricsResponse__Output>
      GetArtifactRequest: MessageTypeDefinition<_trellis_v1_GetArtifactRequest, _trellis_v1_GetArtifactRequest__Output>
      GetArtifactResponse: MessageTypeDefinition<_trellis_v1_GetArtifactResponse, _trellis_v1_GetArtifactResponse__Output>
      GetArtifactStreamRequest: MessageTypeDefinition<_trellis_v1_GetArtifactStreamRequest, _trellis_v1_GetArtifactStreamRequest__Output>
      GetArtifactStreamResponse: MessageTypeDefinition<_trellis_v1_GetArtifactStreamResponse, _trellis_v1_GetArtifactStreamResponse__Output>
      GetArtifactUploadStatusRequest: MessageTypeDefinition<_trellis_v1_GetArtifactUploadStatusRequest, _trellis_v1_GetArtifactUploadStatusRequest__Output>
      GetArtifactUploadStatusResponse: MessageTypeDefinition<_trellis_v1_GetArtifactUploadStatusResponse, _trellis_v1_GetArtifactUploadStatusResponse__Output>
      GetAttemptLogRequest: MessageTypeDefinition<_trellis_v1_GetAttemptLogRequest, _trellis_v1_GetAttemptLogRequest__Output>
      GetAttemptLogResponse: MessageTypeDefinition<_trellis_v1_GetAttemptLogResponse, _trellis_v1_GetAttemptLogResponse__Output>
      GetExperimentRequest: MessageTypeDefinition<_trellis_v1_GetExperimentRequest, _trellis_v1_GetExperimentRequest__Output>
      GetExperimentResponse: MessageTypeDefinition<_trellis_v1_GetExperimentResponse, _trellis_v1_GetExperimentResponse__Output>
      Gpu: MessageTypeDefinition<_trellis_v1_Gpu, _trellis_v1_Gpu__Output>
      GpuMemory: MessageTypeDefinition<_trellis_v1_GpuMemory, _trellis_v1_GpuMemory__Output>
      Heartbeat: MessageTypeDefinition<_trellis_v1_Heartbeat, _trellis_v1_Heartbeat__Output>
      Hello: MessageTypeDefinition<_trellis_v1_Hello, _trellis_v1_Hello__Output>
      ListExperimentsRequest: MessageTypeDefinition<_trellis_v1_ListExperimentsRequest, _trellis_v1_ListExperimentsRequest__Output>
      ListExperimentsResponse: MessageTypeDefinition<_trellis_v1_ListExperimentsResponse, _trellis_v1_ListExperimentsResponse__Output>
      ListTrialsRequest: MessageTypeDefinition<_trellis_v1_ListTrialsRequest, _trellis_v1_ListTrialsRequest__Output>
      ListTrialsResponse: MessageTypeDefinition<_trellis_v1_ListTrialsResponse, _trellis_v1_ListTrialsResponse__Output>
      ListWorkersRequest: MessageTypeDefinition<_trellis_v1_ListWorkersRequest, _trellis_v1_ListWorkersRequest__Output>
      ListWorkersResponse: MessageTypeDefinition<_trellis_v1_ListWorkersResponse, _trellis_v1_ListWorkersResponse__Output>
      MetricRow: MessageTypeDefinition<_trellis_v1_MetricRow, _trellis_v1_MetricRow__Output>
      ParetoFront: MessageTypeDefinition<_trellis_v1_ParetoFront, _trellis_v1_ParetoFront__Output>
      ParetoPoint: MessageTypeDefinition<_trellis_v1_ParetoPoint, _trellis_v1_ParetoPoint__Output>
      Progress: MessageTypeDefinition<_trellis_v1_Progress, _trellis_v1_Progress__Output>
      PutArtifactRequest: MessageTypeDefinition<_trellis_v1_PutArtifactRequest, _trellis_v1_PutArtifactRequest__Output>
      PutArtifactResponse: MessageTypeDefinition<_trellis_v1_PutArtifactResponse, _trellis_v1_PutArtifactResponse__Output>
      PutArtifactStreamRequest: MessageTypeDefinition<_trellis_v1_PutArtifactStreamRequest, _trellis_v1_PutArtifactStreamRequest__Output>
      Slots: MessageTypeDefinition<_trellis_v1_Slots, _trellis_v1_Slots__Output>
      Stop: MessageTypeDefinition<_trellis_v1_Stop, _trellis_v1_Stop__Output>
      SubmitExperimentRequest: MessageTypeDefinition<_trellis_v1_SubmitExperimentRequest, _trellis_v1_SubmitExperimentRequest__Output>
      SubmitExperimentResponse: MessageTypeDefinition<_trellis_v1_SubmitExperimentResponse, _trellis_v1_SubmitExperimentResponse__Output>
      Trial: MessageTypeDefinition<_trellis_v1_Trial, _trellis_v1_Trial__Output>
      TrialStatus: EnumTypeDefinition
      WatchAttemptLogRequest: MessageTypeDefinition<_trellis_v1_WatchAttemptLogRequest, _trellis_v1_WatchAttemptLogRequest__Output>
      WatchAttemptLogResponse: MessageTypeDefinition<_trellis_v1_WatchAttemptLogResponse, _trellis_v1_WatchAttemptLogResponse__Output>
      WatchEventsRequest: MessageTypeDefinition<_trellis_v1_WatchEventsRequest, _trellis_v1_WatchEventsRequest__Output>
      Welcome: MessageTypeDefinition<_trellis_v1_Welcome, _trellis_v1_Welcome__Output>
      WorkerInfo: MessageTypeDefinition<_trellis_v1_WorkerInfo, _trellis_v1_WorkerInfo__Output>
      WorkerMessage: MessageTypeDefinition<_trellis_v1_WorkerMessage, _trellis_v1_WorkerMessage__Output>
      WorkerService: SubtypeConstructor<typeof grpc.Client, _trellis_v1_WorkerServiceClient> & { service: _trellis_v1_WorkerServiceDefinition }
      WorkerStatus: EnumTypeDefinition
    }
  }
}

