// Original file: proto/trellis/v1/worker.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CoordinatorMessage as _trellis_v1_CoordinatorMessage, CoordinatorMessage__Output as _trellis_v1_CoordinatorMessage__Output } from '../../trellis/v1/CoordinatorMessage.js';
import type { GetArtifactRequest as _trellis_v1_GetArtifactRequest, GetArtifactRequest__Output as _trellis_v1_GetArtifactRequest__Output } from '../../trellis/v1/GetArtifactRequest.js';
import type { GetArtifactResponse as _trellis_v1_GetArtifactResponse, GetArtifactResponse__Output as _trellis_v1_GetArtifactResponse__Output } from '../../trellis/v1/GetArtifactResponse.js';
import type { GetArtifactStreamRequest as _trellis_v1_GetArtifactStreamRequest, GetArtifactStreamRequest__Output as _trellis_v1_GetArtifactStreamRequest__Output } from '../../trellis/v1/GetArtifactStreamRequest.js';
import type { GetArtifactStreamResponse as _trellis_v1_GetArtifactStreamResponse, GetArtifactStreamResponse__Output as _trellis_v1_GetArtifactStreamResponse__Output } from '../../trellis/v1/GetArtifactStreamResponse.js';
import type { GetArtifactUploadStatusRequest as _trellis_v1_GetArtifactUploadStatusRequest, GetArtifactUploadStatusRequest__Output as _trellis_v1_GetArtifactUploadStatusRequest__Output } from '../../trellis/v1/GetArtifactUploadStatusRequest.js';
import type { GetArtifactUploadStatusResponse as _trellis_v1_GetArtifactUploadStatusResponse, GetArtifactUploadStatusResponse__Output as _trellis_v1_GetArtifactUploadStatusResponse__Output } from '../../trellis/v1/GetArtifactUploadStatusResponse.js';
import type { PutArtifactRequest as _trellis_v1_PutArtifactRequest, PutArtifactRequest__Output as _trellis_v1_PutArtifactRequest__Output } from '../../trellis/v1/PutArtifactRequest.js';
import type { PutArtifactResponse as _trellis_v1_PutArtifactResponse, PutArtifactResponse__Output as _trellis_v1_PutArtifactResponse__Output } from '../../trellis/v1/PutArtifactResponse.js';
import type { PutArtifactStreamRequest as _trellis_v1_PutArtifactStreamRequest, PutArtifactStreamRequest__Output as _trellis_v1_PutArtifactStreamRequest__Output } from '../../trellis/v1/PutArtifactStreamRequest.js';
import type { WorkerMessage as _trellis_v1_WorkerMessage, WorkerMessage__Output as _trellis_v1_WorkerMessage__Output } from '../../trellis/v1/WorkerMessage.js';

export interface WorkerServiceClient extends grpc.Client {
  Connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_trellis_v1_WorkerMessage, _trellis_v1_CoordinatorMessage__Output>;
  Connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_trellis_v1_WorkerMessage, _trellis_v1_CoordinatorMessage__Output>;
  connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_trellis_v1_WorkerMessage, _trellis_v1_CoordinatorMessage__Output>;
  connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_trellis_v1_WorkerMessage, _trellis_v1_CoordinatorMessage__Output>;
  
  GetArtifact(argument: _trellis_v1_GetArtifactRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetArtifactResponse__Output>): grpc.ClientUnaryCall;
  GetArtifact(argument: _trellis_v1_GetArtifactRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_GetArtifactResponse__Output>): grpc.ClientUnaryCall;
  GetArtifact(argument: _trellis_v1_GetArtifactRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetArtifactResponse__Output>): grpc.ClientUnaryCall;
  GetArtifact(argument: _trellis_v1_GetArtifactRequest, callback: grpc.requestCallback<_trellis_v1_GetArtifactResponse__Output>): grpc.ClientUnaryCall;
  getArtifact(argument: _trellis_v1_GetArtifactRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetArtifactResponse__Output>): grpc.ClientUnaryCall;
  getArtifact(argument: _trellis_v1_GetArtifactRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_GetArtifactResponse__Output>): grpc.ClientUnaryCall;
  getArtifact(argument: _trellis_v1_GetArtifactRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetArtifactResponse__Output>): grpc.ClientUnaryCall;
  getArtifact(argument: _trellis_v1_GetArtifactRequest, callback: grpc.requestCallback<_trellis_v1_GetArtifactResponse__Output>): grpc.ClientUnaryCall;
  
  GetArtifactStream(argument: _trellis_v1_GetArtifactStreamRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_trellis_v1_GetArtifactStreamResponse__Output>;
  GetArtifactStream(argument: _trellis_v1_GetArtifactStreamRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_trellis_v1_GetArtifactStreamResponse__Output>;
  getArtifactStream(argument: _trellis_v1_GetArtifactStreamRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_trellis_v1_GetArtifactStreamResponse__Output>;
  getArtifactStream(argument: _trellis_v1_GetArtifactStreamRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_trellis_v1_GetArtifactStreamResponse__Output>;
  
  GetArtifactUploadStatus(argument: _trellis_v1_GetArtifactUploadStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetArtifactUploadStatusResponse__Output>): grpc.ClientUnaryCall;
  GetArtifactUploadStatus(argument: _trellis_v1_GetArtifactUploadStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_GetArtifactUploadStatusResponse__Output>): grpc.ClientUnaryCall;
  GetArtifactUploadStatus(argument: _trellis_v1_GetArtifactUploadStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetArtifactUploadStatusResponse__Output>): grpc.ClientUnaryCall;
  GetArtifactUploadStatus(argument: _trellis_v1_GetArtifactUploadStatusRequest, callback: grpc.requestCallback<_trellis_v1_GetArtifactUploadStatusResponse__Output>): grpc.ClientUnaryCall;
  getArtifactUploadStatus(argument: _trellis_v1_GetArtifactUploadStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetArtifactUploadStatusResponse__Output>): grpc.ClientUnaryCall;
  getArtifactUploadStatus(argument: _trellis_v1_GetArtifactUploadStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_GetArtifactUploadStatusResponse__Output>): grpc.ClientUnaryCall;
  getArtifactUploadStatus(argument: _trellis_v1_GetArtifactUploadStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_GetArtifactUploadStatusResponse__Output>): grpc.ClientUnaryCall;
  getArtifactUploadStatus(argument: _trellis_v1_GetArtifactUploadStatusRequest, callback: grpc.requestCallback<_trellis_v1_GetArtifactUploadStatusResponse__Output>): grpc.ClientUnaryCall;
  
  PutArtifact(argument: _trellis_v1_PutArtifactRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientUnaryCall;
  PutArtifact(argument: _trellis_v1_PutArtifactRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientUnaryCall;
  PutArtifact(argument: _trellis_v1_PutArtifactRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientUnaryCall;
  PutArtifact(argument: _trellis_v1_PutArtifactRequest, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientUnaryCall;
  putArtifact(argument: _trellis_v1_PutArtifactRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientUnaryCall;
  putArtifact(argument: _trellis_v1_PutArtifactRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientUnaryCall;
  putArtifact(argument: _trellis_v1_PutArtifactRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientUnaryCall;
  putArtifact(argument: _trellis_v1_PutArtifactRequest, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientUnaryCall;
  
  PutArtifactStream(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientWritableStream<_trellis_v1_PutArtifactStreamRequest>;
  PutArtifactStream(metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientWritableStream<_trellis_v1_PutArtifactStreamRequest>;
  PutArtifactStream(options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientWritableStream<_trellis_v1_PutArtifactStreamRequest>;
  PutArtifactStream(callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientWritableStream<_trellis_v1_PutArtifactStreamRequest>;
  putArtifactStream(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientWritableStream<_trellis_v1_PutArtifactStreamRequest>;
  putArtifactStream(metadata: grpc.Metadata, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientWritableStream<_trellis_v1_PutArtifactStreamRequest>;
  putArtifactStream(options: grpc.CallOptions, callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientWritableStream<_trellis_v1_PutArtifactStreamRequest>;
  putArtifactStream(callback: grpc.requestCallback<_trellis_v1_PutArtifactResponse__Output>): grpc.ClientWritableStream<_trellis_v1_PutArtifactStreamRequest>;
  
}

export interface WorkerServiceHandlers extends grpc.UntypedServiceImplementation {
  Connect: grpc.handleBidiStreamingCall<_trellis_v1_WorkerMessage__Output, _trellis_v1_CoordinatorMessage>;
  
  GetArtifact: grpc.handleUnaryCall<_trellis_v1_GetArtifactRequest__Output, _trellis_v1_GetArtifactResponse>;
  
  GetArtifactStream: grpc.handleServerStreamingCall<_trellis_v1_GetArtifactStreamRequest__Output, _trellis_v1_GetArtifactStreamResponse>;
  
  GetArtifactUploadStatus: grpc.handleUnaryCall<_trellis_v1_GetArtifactUploadStatusRequest__Output, _trellis_v1_GetArtifactUploadStatusResponse>;
  
  PutArtifact: grpc.handleUnaryCall<_trellis_v1_PutArtifactRequest__Output, _trellis_v1_PutArtifactResponse>;
  
  PutArtifactStream: grpc.handleClientStreamingCall<_trellis_v1_PutArtifactStreamRequest__Output, _trellis_v1_PutArtifactResponse>;
  
}

export interface WorkerServiceDefinition extends grpc.ServiceDefinition {
  Connect: MethodDefinition<_trellis_v1_WorkerMessage, _trellis_v1_CoordinatorMessage, _trellis_v1_WorkerMessage__Output, _trellis_v1_CoordinatorMessage__Output>
  GetArtifact: MethodDefinition<_trellis_v1_GetArtifactRequest, _trellis_v1_GetArtifactResponse, _trellis_v1_GetArtifactRequest__Output, _trellis_v1_GetArtifactResponse__Output>
  GetArtifactStream: MethodDefinition<_trellis_v1_GetArtifactStreamRequest, _trellis_v1_GetArtifactStreamResponse, _trellis_v1_GetArtifactStreamRequest__Output, _trellis_v1_GetArtifactStreamResponse__Output>
  GetArtifactUploadStatus: MethodDefinition<_trellis_v1_GetArtifactUploadStatusRequest, _trellis_v1_GetArtifactUploadStatusResponse, _trellis_v1_GetArtifactUploadStatusRequest__Output, _trellis_v1_GetArtifactUploadStatusResponse__Output>
  PutArtifact: MethodDefinition<_trellis_v1_PutArtifactRequest, _trellis_v1_PutArtifactResponse, _trellis_v1_PutArtifactRequest__Output, _trellis_v1_PutArtifactResponse__Output>
  PutArtifactStream: MethodDefinition<_trellis_v1_PutArtifactStreamRequest, _trellis_v1_PutArtifactResponse, _trellis_v1_PutArtifactStreamRequest__Output, _trellis_v1_PutArtifactResponse__Output>
}
