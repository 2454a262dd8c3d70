// Original file: proto/trellis/v1/experiment.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface SubmitExperimentRequest {
  'request_id'?: (string);
  'spec'?: (string);
  'no_cache'?: (boolean);
  'spec_document'?: (_google_protobuf_Struct | null);
}

export interface SubmitExperimentRequest__Output {
  'request_id': (string);
  'spec': (string);
  'no_cache': (boolean);
  'spec_document': (_google_protobuf_Struct__Output | null);
}
