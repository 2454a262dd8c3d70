// Original file: proto/trellis/v1/experiment.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelExperimentRequest as _trellis_v1_CancelExperimentRequest, CancelExperimentRequest__Output as _trellis_v1_CancelExperimentRequest__Output } from '../../trellis/v1/CancelExperimentRequest.js';
import type { CancelExperimentResponse as _trellis_v1_CancelExperimentResponse, CancelExperimentResponse__Output as _trellis_v1_CancelExperimentResponse__Output } from '../../trellis/v1/CancelExperimentResponse.js';
import type { Event as _trellis_v1_Event, Event__Output as _trellis_v1_Event__Output } from '../../trellis/v1/Event.js';
import type { ExportMetricsRequest as _trellis_v1_ExportMetricsRequest, ExportMetricsRequest__Output as _trellis_v1_ExportMetricsRequest__Output } from '../../trellis/v1/ExportMetricsRequest.js';
import type { ExportMetricsResponse as _trellis_v1_ExportMetricsResponse, ExportMetricsResponse__Output as _trellis_v1_ExportMetricsResponse__Output } from '../../trellis/v1/ExportMetricsResponse.js';
import type { GetAttemptLogRequest as _trellis_v1_GetAttemptLogRequest, GetAttemptLogRequest__Output as _trellis_v1_GetAttemptLogRequest__Output } from '../../trellis/v1/GetAttemptLogRequest.js';
import type { GetAttemptLogResponse as _trellis_v1_GetAttemptLogResponse, GetAttemptLogResponse__Output as _trellis_v1_GetAttemptLogResponse__Output } from '../../trellis/v1/GetAttemptLogResponse.js';
import type { GetExperimentRequest as _trellis_v1_GetExperimentRequest, GetExperimentRequest__Output as _trellis_v1_GetExperimentRequest__Output } from '../../trellis/v1/GetExperimentRequest.js';
import type { GetExperimentResponse as _trellis_v1_GetExperimentResponse, GetExperimentResponse__Output as _trellis_v1_GetExperimentResponse__Output } from '../../trellis/v1/GetExperimentResponse.js';
import type { ListExperimentsRequest as _trellis_v1_ListExperimentsRequest, ListExperimentsRequest__Output as _trellis_v1_ListExperimentsRequest__Output } from '../../trellis/v1/ListExperimentsRequest.js';
import type { ListExperimentsResponse as _trellis_v1_ListExperimentsResponse, ListExperimentsResponse__Output as _trellis_v1_ListExperimentsResponse__Output } from '../../trellis/v1/ListExperimentsResponse.js';
import type { ListTrialsRequest as _trellis_v1_ListTrialsRequest, ListTrialsRequest__Output as _trellis_v1_ListTrialsRequest__Output } from '../../trellis/v1/ListTrialsRequest.js';
import type { ListTrialsResponse as _trellis_v1_ListTrialsResponse, ListTrialsResponse__Output as _trellis_v1_ListTrialsResponse__Output } from '../../trellis/v1/ListTrialsResponse.js';
import type { ListWorkersRequest as _trellis_v1_ListWorkersRequest, ListWorkersRequest__Output as _trellis_v1_ListWorkersRequest__Output } from '../../trellis/v1/ListWorkersRequest.js';
import type { ListWorkersResponse as _trellis_v1_ListWorkersResponse, ListWorkersResponse__Output as _trellis_v1_ListWorkersResponse__Output } from '../../trellis/v1/ListWorkersResponse.js';
import type { SubmitExperimentRequest as _trellis_v1_SubmitExperimentRequest, SubmitExperimentRequest__Output as _trellis_v1_SubmitExperimentRequest__Output } from '../../trellis/v1/SubmitExperimentRequest.js';
import type { SubmitExperimentResponse as _trellis_v1_SubmitExperimentResponse, SubmitExperimentResponse__Output as _trellis_v1_SubmitExperimentResponse__Output } from '../../trellis/v1/SubmitExperimentResponse.js';
import type { WatchAttemptLogRequest as _trellis_v1_WatchAttemptLogRequest, WatchAttemptLogRequest__Output as _trellis_v1_WatchAttemptLogRequest__Output } from '../../trellis/v1/WatchAttemptLogRequest.js';
import type { WatchAttemptLogResponse as _trellis_v1_WatchAttemptLogResponse, WatchAttemptLogResponse__Output as _trellis_v1_WatchAttemptLogResponse__Output } from '../../trellis/v1/WatchAttemptLogResponse.js';
import type { WatchEventsRequest as _trellis_v1_WatchEventsRequest, WatchEventsRequest__Output as _trellis_v1_WatchEventsRequest__Output } from '../../trellis/v1/WatchEventsRequest.js';

export interface ExperimentServiceClient extends grpc.Client {
  CancelExperiment(argument: _trellis_v1_CancelExperimentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_CancelExperimentResponse__Output>): grpc.ClientUnaryCall;
  CancelExperiment(argument: _trellis_v1_CancelExperimentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_CancelExperimentResponse__Output>): grpc.ClientUnaryCall;
  CancelExperiment(argument: _trellis_v1_CancelExperimentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_CancelExperimentResponse__Output>): grpc.ClientUnaryCall;
  CancelExperiment(argument: _trellis_v1_CancelExperimentRequest, callback: grpc.requestCallback<_trellis_v1_CancelExperimentResponse__Output>): grpc.ClientUnaryCall;
  cancelExperiment(argument: _trellis_v1_CancelExperimentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_CancelExperimentResponse__Output>): grpc.ClientUnaryCall;
  cancelExperiment(argument: _trellis_v1_CancelExperimentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_CancelExperimentResponse__Output>): grpc.ClientUnaryCall;
  cancelExperiment(argument: _trellis_v1_CancelExperimentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_CancelExperimentResponse__Output>): grpc.ClientUnaryCall;
  cancelExperiment(argument: _trellis_v1_CancelExperimentRequest, callback: grpc.requestCallback<_trellis_v1_CancelExperimentResponse__Output>): grpc.ClientUnaryCall;
  
  ExportMetrics(argument: _trellis_v1_ExportMetricsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ExportMetricsResponse__Output>): grpc.ClientUnaryCall;
  ExportMetrics(argument: _trellis_v1_ExportMetricsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_ExportMetricsResponse__Output>): grpc.ClientUnaryCall;
  ExportMetrics(argument: _trellis_v1_ExportMetricsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ExportMetricsResponse__Output>): grpc.ClientUnaryCall;
  ExportMetrics(argument: _trellis_v1_ExportMetricsRequest, callback: grpc.requestCallback<_trellis_v1_ExportMetricsResponse__Output>): grpc.ClientUnaryCall;
  exportMetrics(argument: _trellis_v1_ExportMetricsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ExportMetricsResponse__Output>): grpc.ClientUnaryCall;
  exportMetrics(argument: _trellis_v1_ExportMetricsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_ExportMetricsResponse__Output>): grpc.ClientUnaryCall;
  exportMetrics(argument: _trellis_v1_ExportMetricsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ExportMetricsResponse__Output>): grpc.ClientUnaryCall;
  exportMetrics(argument: _trellis_v1_ExportMetricsRequest, callback: grpc.requestCallback<_trellis_v1_ExportMetricsResponse__Output>): grpc.ClientUnaryCall;
  
  GetAttemptLog(argument: _trellis_v1_GetAttemptLogRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetAttemptLogResponse__Output>): grpc.ClientUnaryCall;
  GetAttemptLog(argument: _trellis_v1_GetAttemptLogRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_GetAttemptLogResponse__Output>): grpc.ClientUnaryCall;
  GetAttemptLog(argument: _trellis_v1_GetAttemptLogRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetAttemptLogResponse__Output>): grpc.ClientUnaryCall;
  GetAttemptLog(argument: _trellis_v1_GetAttemptLogRequest, callback: grpc.requestCallback<_trellis_v1_GetAttemptLogResponse__Output>): grpc.ClientUnaryCall;
  getAttemptLog(argument: _trellis_v1_GetAttemptLogRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetAttemptLogResponse__Output>): grpc.ClientUnaryCall;
  getAttemptLog(argument: _trellis_v1_GetAttemptLogRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_GetAttemptLogResponse__Output>): grpc.ClientUnaryCall;
  getAttemptLog(argument: _trellis_v1_GetAttemptLogRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetAttemptLogResponse__Output>): grpc.ClientUnaryCall;
  getAttemptLog(argument: _trellis_v1_GetAttemptLogRequest, callback: grpc.requestCallback<_trellis_v1_GetAttemptLogResponse__Output>): grpc.ClientUnaryCall;
  
  GetExperiment(argument: _trellis_v1_GetExperimentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetExperimentResponse__Output>): grpc.ClientUnaryCall;
  GetExperiment(argument: _trellis_v1_GetExperimentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_GetExperimentResponse__Output>): grpc.ClientUnaryCall;
  GetExperiment(argument: _trellis_v1_GetExperimentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetExperimentResponse__Output>): grpc.ClientUnaryCall;
  GetExperiment(argument: _trellis_v1_GetExperimentRequest, callback: grpc.requestCallback<_trellis_v1_GetExperimentResponse__Output>): grpc.ClientUnaryCall;
  getExperiment(argument: _trellis_v1_GetExperimentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetExperimentResponse__Output>): grpc.ClientUnaryCall;
  getExperiment(argument: _trellis_v1_GetExperimentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_GetExperimentResponse__Output>): grpc.ClientUnaryCall;
  getExperiment(argument: _trellis_v1_GetExperimentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetExperimentResponse__Output>): grpc.ClientUnaryCall;
  getExperiment(argument: _trellis_v1_GetExperimentRequest, callback: grpc.requestCallback<_trellis_v1_GetExperimentResponse__Output>): grpc.ClientUnaryCall;
  
  ListExperiments(argument: _trellis_v1_ListExperimentsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ListExperimentsResponse__Output>): grpc.ClientUnaryCall;
  ListExperiments(argument: _trellis_v1_ListExperimentsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_ListExperimentsResponse__Output>): grpc.ClientUnaryCall;
  ListExperiments(argument: _trellis_v1_ListExperimentsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ListExperimentsResponse__Output>): grpc.ClientUnaryCall;
  ListExperiments(argument: _trellis_v1_ListExperimentsRequest, callback: grpc.requestCallback<_trellis_v1_ListExperimentsResponse__Output>): grpc.ClientUnaryCall;
  listExperiments(argument: _trellis_v1_ListExperimentsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ListExperimentsResponse__Output>): grpc.ClientUnaryCall;
  listExperiments(argument: _trellis_v1_ListExperimentsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_ListExperimentsResponse__Output>): grpc.ClientUnaryCall;
  listExperiments(argument: _trellis_v1_ListExperimentsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ListExperimentsResponse__Output>): grpc.ClientUnaryCall;
  listExperiments(argument: _trellis_v1_ListExperimentsRequest, callback: grpc.requestCallback<_trellis_v1_ListExperimentsResponse__Output>): grpc.ClientUnaryCall;
  
  ListTrials(argument: _trellis_v1_ListTrialsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ListTrialsResponse__Output>): grpc.ClientUnaryCall;
  ListTrials(argument: _trellis_v1_ListTrialsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_ListTrialsResponse__Output>): grpc.ClientUnaryCall;
  ListTrials(argument: _trellis_v1_ListTrialsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ListTrialsResponse__Output>): grpc.ClientUnaryCall;
  ListTrials(argument: _trellis_v1_ListTrialsRequest, callback: grpc.requestCallback<_trellis_v1_ListTrialsResponse__Output>): grpc.ClientUnaryCall;
  listTrials(argument: _trellis_v1_ListTrialsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ListTrialsResponse__Output>): grpc.ClientUnaryCall;
  listTrials(argument: _trellis_v1_ListTrialsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_ListTrialsResponse__Output>): grpc.ClientUnaryCall;
  listTrials(argument: _trellis_v1_ListTrialsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ListTrialsResponse__Output>): grpc.ClientUnaryCall;
  listTrials(argument: _trellis_v1_ListTrialsRequest, callback: grpc.requestCallback<_trellis_v1_ListTrialsResponse__Output>): grpc.ClientUnaryCall;
  
  ListWorkers(argument: _trellis_v1_ListWorkersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  ListWorkers(argument: _trellis_v1_ListWorkersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  ListWorkers(argument: _trellis_v1_ListWorkersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  ListWorkers(argument: _trellis_v1_ListWorkersRequest, callback: grpc.requestCallback<_trellis_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _trellis_v1_ListWorkersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _trellis_v1_ListWorkersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _trellis_v1_ListWorkersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _trellis_v1_ListWorkersRequest, callback: grpc.requestCallback<_trellis_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  
  SubmitExperiment(argument: _trellis_v1_SubmitExperimentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_SubmitExperimentResponse__Output>): grpc.ClientUnaryCall;
  SubmitExperiment(argument: _trellis_v1_SubmitExperimentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_SubmitExperimentResponse__Output>): grpc.ClientUnaryCall;
  SubmitExperiment(argument: _trellis_v1_SubmitExperimentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_SubmitExperimentResponse__Output>): grpc.ClientUnaryCall;
  SubmitExperiment(argument: _trellis_v1_SubmitExperimentRequest, callback: grpc.requestCallback<_trellis_v1_SubmitExperimentResponse__Output>): grpc.ClientUnaryCall;
  submitExperiment(argument: _trellis_v1_SubmitExperimentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_SubmitExperimentResponse__Output>): grpc.ClientUnaryCall;
  submitExperiment(argument: _trellis_v1_SubmitExperimentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_SubmitExperimentResponse__Output>): grpc.ClientUnaryCall;
  submitExperiment(argument: _trellis_v1_SubmitExperimentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_SubmitExperimentResponse__Output>): grpc.ClientUnaryCall;
  submitExperiment(argument: _trellis_v1_SubmitExperimentRequest, callback: grpc.requestCallback<_trellis_v1_SubmitExperimentResponse__Output>): grpc.ClientUnaryCall;
  
  WatchAttemptLog(argument: _trellis_v1_WatchAttemptLogRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_trellis_v1_WatchAttemptLogResponse__Output>;
  WatchAttemptLog(argument: _trellis_v1_WatchAttemptLogRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_trellis_v1_WatchAttemptLogResponse__Output>;
  watchAttemptLog(argument: _trellis_v1_WatchAttemptLogRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_trellis_v1_WatchAttemptLogResponse__Output>;
  watchAttemptLog(argument: _trellis_v1_WatchAttemptLogRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_trellis_v1_WatchAttemptLogResponse__Output>;
  
  WatchEvents(argument: _trellis_v1_WatchEventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_trellis_v1_Event__Output>;
  WatchEvents(argument: _trellis_v1_WatchEventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_trellis_v1_Event__Output>;
  watchEvents(argument: _trellis_v1_WatchEventsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_trellis_v1_Event__Output>;
  watchEvents(argument: _trellis_v1_WatchEventsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_trellis_v1_Event__Output>;
  
}

export interface ExperimentServiceHandlers extends grpc.UntypedServiceImplementation {
  CancelExperiment: grpc.handleUnaryCall<_trellis_v1_CancelExperimentRequest__Output, _trellis_v1_CancelExperimentResponse>;
  
  ExportMetrics: grpc.handleUnaryCall<_trellis_v1_ExportMetricsRequest__Output, _trellis_v1_ExportMetricsResponse>;
  
  GetAttemptLog: grpc.handleUnaryCall<_trellis_v1_GetAttemptLogRequest__Output, _trellis_v1_GetAttemptLogResponse>;
  
  GetExperiment: grpc.handleUnaryCall<_trellis_v1_GetExperimentRequest__Output, _trellis_v1_GetExperimentResponse>;
  
  ListExperiments: grpc.handleUnaryCall<_trellis_v1_ListExperimentsRequest__Output, _trellis_v1_ListExperimentsResponse>;
  
  ListTrials: grpc.handleUnaryCall<_trellis_v1_ListTrialsRequest__Output, _trellis_v1_ListTrialsResponse>;
  
  ListWorkers: grpc.handleUnaryCall<_trellis_v1_ListWorkersRequest__Output, _trellis_v1_ListWorkersResponse>;
  
  SubmitExperiment: grpc.handleUnaryCall<_trellis_v1_SubmitExperimentRequest__Output, _trellis_v1_SubmitExperimentResponse>;
  
  WatchAttemptLog: grpc.handleServerStreamingCall<_trellis_v1_WatchAttemptLogRequest__Output, _trellis_v1_WatchAttemptLogResponse>;
  
  WatchEvents: grpc.handleServerStreamingCall<_trellis_v1_WatchEventsRequest__Output, _trellis_v1_Event>;
  
}

export interface ExperimentServiceDefinition extends grpc.ServiceDefinition {
  CancelExperiment: MethodDefinition<_trellis_v1_CancelExperimentRequest, _trellis_v1_CancelExperimentResponse, _trellis_v1_CancelExperimentRequest__Output, _trellis_v1_CancelExperimentResponse__Output>
  ExportMetrics: MethodDefinition<_trellis_v1_ExportMetricsRequest, _trellis_v1_ExportMetricsResponse, _trellis_v1_ExportMetricsRequest__Output, _trellis_v1_ExportMetricsResponse__Output>
  GetAttemptLog: MethodDefinition<_trellis_v1_GetAttemptLogRequest, _trellis_v1_GetAttemptLogResponse, _trellis_v1_GetAttemptLogRequest__Output, _trellis_v1_GetAttemptLogResponse__Output>
  GetExperiment: MethodDefinition<_trellis_v1_GetExperimentRequest, _trellis_v1_GetExperimentResponse, _trellis_v1_GetExperimentRequest__Output, _trellis_v1_GetExperimentResponse__Output>
  ListExperiments: MethodDefinition<_trellis_v1_ListExperimentsRequest, _trellis_v1_ListExperimentsResponse, _trellis_v1_ListExperimentsRequest__Output, _trellis_v1_ListExperimentsResponse__Output>
  ListTrials: MethodDefinition<_trellis_v1_ListTrialsRequest, _trellis_v1_ListTrialsResponse, _trellis_v1_ListTrialsRequest__Output, _trellis_v1_ListTrialsResponse__Output>
  ListWorkers: MethodDefinition<_trellis_v1_ListWorkersRequest, _trellis_v1_ListWorkersResponse, _trellis_v1_ListWorkersRequest__Output, _trellis_v1_ListWorkersResponse__Output>
  SubmitExperiment: MethodDefinition<_trellis_v1_SubmitExperimentRequest, _trellis_v1_SubmitExperimentResponse, _trellis_v1_SubmitExperimentRequest__Output, _trellis_v1_SubmitExperimentResponse__Output>
  WatchAttemptLog: MethodDefinition<_trellis_v1_WatchAttemptLogRequest, _trellis_v1_WatchAttemptLogResponse, _trellis_v1_WatchAttemptLogRequest__Output, _trellis_v1_WatchAttemptLogResponse__Output>
  WatchEvents: MethodDefinition<_trellis_v1_WatchEventsRequest, _trellis_v1_Event, _trellis_v1_WatchEventsRequest__Output, _trellis_v1_Event__Output>
}
