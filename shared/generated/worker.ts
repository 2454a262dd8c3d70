import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { ArtifactDownloadHeader as _trellis_v1_ArtifactDownloadHeader, ArtifactDownloadHeader__Output as _trellis_v1_ArtifactDownloadHeader__Output } from './trellis/v1/ArtifactDownloadHeader.js';
import type { ArtifactUploadHeader as _trellis_v1_ArtifactUploadHeader, ArtifactUploadHeader__Output as _trellis_v1_ArtifactUploadHeader__Output } from './trellis/v1/ArtifactUploadHeader.js';
import type { Assignment as _trellis_v1_Assignment, Assignment__Output as _trellis_v1_Assignment__Output } from './trellis/v1/Assignment.js';
import type { AttemptFailure as _trellis_v1_AttemptFailure, AttemptFailure__Output as _trellis_v1_AttemptFailure__Output } from './trellis/v1/AttemptFailure.js';
import type { AttemptOutput as _trellis_v1_AttemptOutput, AttemptOutput__Output as _trellis_v1_AttemptOutput__Output } from './trellis/v1/AttemptOutput.js';
import type { AttemptResult as _trellis_v1_AttemptResult, AttemptResult__Output as _trellis_v1_AttemptResult__Output } from './trellis/v1/AttemptResult.js';
import type { AttemptStopped as _trellis_v1_AttemptStopped, AttemptStopped__Output as _trellis_v1_AttemptStopped__Output } from './trellis/v1/AttemptStopped.js';
import type { CheckpointSaved as _trellis_v1_CheckpointSaved, CheckpointSaved__Output as _trellis_v1_CheckpointSaved__Output } from './trellis/v1/CheckpointSaved.js';
import type { CoordinatorMessage as _trellis_v1_CoordinatorMessage, CoordinatorMessage__Output as _trellis_v1_CoordinatorMessage__Output } from './trellis/v1/CoordinatorMessage.js';
import type { Drain as _trellis_v1_Drain, Drain__Output as _trellis_v1_Drain__Output } from './trellis/v1/Drain.js';
import type { Draining as _trellis_v1_Draining, Draining__Output as _trellis_v1_Draining__Output } from './trellis/v1/Draining.js';
import type { GetArtifactRequest as _trellis_v1_GetArtifactRequest, GetArtifactRequest__Output as _trellis_v1_GetArtifactRequest__Output } from './trellis/v1/GetArtifactRequest.js';
import type { GetArtifactResponse as _trellis_v1_GetArtifactResponse, GetArtifactResponse__Output as _trellis_v1_GetArtifactResponse__Output } from './trellis/v1/GetArtifactResponse.js';
import type { GetArtifactStreamRequest as _trellis_v1_GetArtifactStreamRequest, GetArtifactStreamRequest__Output as _trellis_v1_GetArtifactStreamRequest__Output } from './trellis/v1/GetArtifactStreamRequest.js';
import type { GetArtifactStreamResponse as _trellis_v1_GetArtifactStreamResponse, GetArtifactStreamResponse__Output as _trellis_v1_GetArtifactStreamResponse__Output } from './trellis/v1/GetArtifactStreamResponse.js';
import type { GetArtifactUploadStatusRequest as _trellis_v1_GetArtifactUploadStatusRequest, GetArtifactUploadStatusRequest__Output as _trellis_v1_GetArtifactUploadStatusRequest__Output } from './trellis/v1/GetArtifactUploadStatusRequest.js';
import type { GetArtifactUploadStatusResponse as _trellis_v1_GetArtifactUploadStatusResponse, GetArtifactUploadStatusResponse__Output as _trellis_v1_GetArtifactUploadStatusResponse__Output } from './trellis/v1/GetArtifactUploadStatusResponse.js';
import type { Gpu as _trellis_v1_Gpu, Gpu__Output as _trellis_v1_Gpu__Output } from './trellis/v1/Gpu.js';
import type { GpuMemory as _trellis_v1_GpuMemory, GpuMemory__Output as _trellis_v1_GpuMemory__Output } from './trellis/v1/GpuMemory.js';
import type { Heartbeat as _trellis_v1_Heartbeat, Heartbeat__Output as _trellis_v1_Heartbeat__Output } from './trellis/v1/Heartbeat.js';
import type { Hello as _trellis_v1_Hello, Hello__Output as _trellis_v1_Hello__Output } from './trellis/v1/Hello.js';
import type { Progress as _trellis_v1_Progress, Progress__Output as _trellis_v1_Progress__Output } from './trellis/v1/Progress.js';
import type { PutArtifactRequest as _trellis_v1_PutArtifactRequest, PutArtifactRequest__Output as _trellis_v1_PutArtifactRequest__Output } from './trellis/v1/PutArtifactRequest.js';
import type { PutArtifactResponse as _trellis_v1_PutArtifactResponse, PutArtifactResponse__Output as _trellis_v1_PutArtifactResponse__Output } from './trellis/v1/PutArtifactResponse.js';
import type { PutArtifactStreamRequest as _trellis_v1_PutArtifactStreamRequest, PutArtifactStreamRequest__Output as _trellis_v1_PutArtifactStreamRequest__Output } from './trellis/v1/PutArtifactStreamRequest.js';
import type { Slots as _trellis_v1_Slots, Slots__Output as _trellis_v1_Slots__Output } from './trellis/v1/Slots.js';
import type { Stop as _trellis_v1_Stop, Stop__Output as _trellis_v1_Stop__Output } from './trellis/v1/Stop.js';
import type { Welcome as _trellis_v1_Welcome, Welcome__Output as _trellis_v1_Welcome__Output } from './trellis/v1/Welcome.js';
import type { WorkerMessage as _trellis_v1_WorkerMessage, WorkerMessage__Output as _trellis_v1_WorkerMessage__Output } from './trellis/v1/WorkerMessage.js';
import type { WorkerServiceClient as _trellis_v1_WorkerServiceClient, WorkerServiceDefinition as _trellis_v1_WorkerServiceDefinition } from './trellis/v1/WorkerService.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  trellis: {
    v1: {
      ArtifactDownloadHeader: MessageTypeDefinition<_trellis_v1_ArtifactDownloadHeader, _trellis_v1_ArtifactDownloadHeader__Output>
      ArtifactUploadHeader: MessageTypeDefinition<_trellis_v1_ArtifactUploadHeader, _trellis_v1_ArtifactUploadHeader__Output>
      Assignment: MessageTypeDefinition<_trellis_v1_Assignment, _trellis_v1_Assignment__Output>
      AttemptFailure: MessageTypeDefinition<_trellis_v1_AttemptFailure, _trellis_v1_AttemptFailure__Output>
      AttemptOutput: MessageTypeDefinition<_trellis_v1_AttemptOutput, _trellis_v1_AttemptOutput__Output>
      AttemptResult: MessageTypeDefinition<_trellis_v1_AttemptResult, _trellis_v1_AttemptResult__Output>
      AttemptStopped: MessageTypeDefinition<_trellis_v1_AttemptStopped, _trellis_v1_AttemptStopped__Output>
      CheckpointSaved: MessageTypeDefinition<_trellis_v1_CheckpointSaved, _trellis_v1_CheckpointSaved__Output>
      CoordinatorMessage: MessageTypeDefinition<_trellis_v1_CoordinatorMessage, _trellis_v1_CoordinatorMessage__Output>
      Drain: MessageTypeDefinition<_trellis_v1_Drain, _trellis_v1_Drain__Output>
      Draining: MessageTypeDefinition<_trellis_v1_Draining, _trellis_v1_Draining__Output>
      GetArtifactRequest: MessageTypeDefinition<_trellis_v1_GetArtifactRequest, _trellis_v1_GetArtifactRequest__Output>
      GetArtifactResponse: MessageTypeDefinition<_trellis_v1_GetArtifactResponse, _trellis_v1_GetArtifactResponse__Output>
      GetArtifactStreamRequest: MessageTypeDefinition<_trellis_v1_GetArtifactStreamRequest, _trellis_v1_GetArtifactStreamRequest__Output>
      GetArtifactStreamResponse: MessageTypeDefinition<_trellis_v1_GetArtifactStreamResponse, _trellis_v1_GetArtifactStreamResponse__Output>
      GetArtifactUploadStatusRequest: MessageTypeDefinition<_trellis_v1_GetArtifactUploadStatusRequest, _trellis_v1_GetArtifactUploadStatusRequest__Output>
      GetArtifactUploadStatusResponse: MessageTypeDefinition<_trellis_v1_GetArtifactUploadStatusResponse, _trellis_v1_GetArtifactUploadStatusResponse__Output>
      Gpu: MessageTypeDefinition<_trellis_v1_Gpu, _trellis_v1_Gpu__Output>
      GpuMemory: MessageTypeDefinition<_trellis_v1_GpuMemory, _trellis_v1_GpuMemory__Output>
      Heartbeat: MessageTypeDefinition<_trellis_v1_Heartbeat, _trellis_v1_Heartbeat__Output>
      Hello: MessageTypeDefinition<_trellis_v1_Hello, _trellis_v1_Hello__Output>
      Progress: MessageTypeDefinition<_trellis_v1_Progress, _trellis_v1_Progress__Output>
      PutArtifactRequest: MessageTypeDefinition<_trellis_v1_PutArtifactRequest, _trellis_v1_PutArtifactRequest__Output>
      PutArtifactResponse: MessageTypeDefinition<_trellis_v1_PutArtifactResponse, _trellis_v1_PutArtifactResponse__Output>
      PutArtifactStreamRequest: MessageTypeDefinition<_trellis_v1_PutArtifactStreamRequest, _trellis_v1_PutArtifactStreamRequest__Output>
      Slots: MessageTypeDefinition<_trellis_v1_Slots, _trellis_v1_Slots__Output>
      Stop: MessageTypeDefinition<_trellis_v1_Stop, _trellis_v1_Stop__Output>
      Welcome: MessageTypeDefinition<_trellis_v1_Welcome, _trellis_v1_Welcome__Output>
      WorkerMessage: MessageTypeDefinition<_trellis_v1_WorkerMessage, _trellis_v1_WorkerMessage__Output>
      WorkerService: SubtypeConstructor<typeof grpc.Client, _trellis_v1_WorkerServiceClient> & { service: _trellis_v1_WorkerServiceDefinition }
    }
  }
}

