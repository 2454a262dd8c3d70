import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ListValue as _google_protobuf_ListValue, ListValue__Output as _google_protobuf_ListValue__Output } from './google/protobuf/ListValue.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from './google/protobuf/Struct.js';
import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from './google/protobuf/Value.js';
import type { Attempt as _trellis_v1_Attempt, Attempt__Output as _trellis_v1_Attempt__Output } from './trellis/v1/Attempt.js';
import type { Best as _trellis_v1_Best, Best__Output as _trellis_v1_Best__Output } from './trellis/v1/Best.js';
import type { Event as _trellis_v1_Event, Event__Output as _trellis_v1_Event__Output } from './trellis/v1/Event.js';
import type { Experiment as _trellis_v1_Experiment, Experiment__Output as _trellis_v1_Experiment__Output } from './trellis/v1/Experiment.js';
import type { ParetoFront as _trellis_v1_ParetoFront, ParetoFront__Output as _trellis_v1_ParetoFront__Output } from './trellis/v1/ParetoFront.js';
import type { ParetoPoint as _trellis_v1_ParetoPoint, ParetoPoint__Output as _trellis_v1_ParetoPoint__Output } from './trellis/v1/ParetoPoint.js';
import type { Trial as _trellis_v1_Trial, Trial__Output as _trellis_v1_Trial__Output } from './trellis/v1/Trial.js';

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
      Attempt: MessageTypeDefinition<_trellis_v1_Attempt, _trellis_v1_Attempt__Output>
      AttemptStatus: EnumTypeDefinition
      Best: MessageTypeDefinition<_trellis_v1_Best, _trellis_v1_Best__Output>
      Event: MessageTypeDefinition<_trellis_v1_Event, _trellis_v1_Event__Output>
      Experiment: MessageTypeDefinition<_trellis_v1_Experiment, _trellis_v1_Experiment__Output>
      ExperimentStatus: EnumTypeDefinition
      ParetoFront: MessageTypeDefinition<_trellis_v1_ParetoFront, _trellis_v1_ParetoFront__Output>
      ParetoPoint: MessageTypeDefinition<_trellis_v1_ParetoPoint, _trellis_v1_ParetoPoint__Output>
      Trial: MessageTypeDefinition<_trellis_v1_Trial, _trellis_v1_Trial__Output>
      TrialStatus: EnumTypeDefinition
      WorkerStatus: EnumTypeDefinition
    }
  }
}

