// Original file: proto/trellis/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface Assignment {
  'attempt_id'?: (string);
  'experiment_id'?: (string);
  'trial_id'?: (string);
  'trial_number'?: (number);
  'attempt'?: (number);
  'runtime'?: (string);
  'config_json'?: (string);
  'params_json'?: (string);
  'seed'?: (number | string | Long);
  'gpu_ids'?: (string)[];
  'cpus'?: (number | string);
  'checkpoint_artifact_id'?: (string);
  'checkpoint_step'?: (number);
  'attempt_token'?: (string);
  'checkpoint_step64'?: (number | string | Long);
  'gpu_memory_bytes'?: (number | string | Long);
  'after_attempt_id'?: (string);
}

export interface Assignment__Output {
  'attempt_id': (string);
  'experiment_id': (string);
  'trial_id': (string);
  'trial_number': (number);
  'attempt': (number);
  'runtime': (string);
  'config_json': (string);
  'params_json': (string);
  'seed': (string);
  'gpu_ids': (string)[];
  'cpus': (number);
  'checkpoint_artifact_id': (string);
  'checkpoint_step': (number);
  'attempt_token': (string);
  'checkpoint_step64': (string);
  'gpu_memory_bytes': (string);
  'after_attempt_id': (string);
}
