// Original file: proto/trellis/v1/common.proto


export interface Best {
  'trial_id'?: (string);
  'number'?: (number);
  'params_json'?: (string);
  'metric'?: (string);
  'value'?: (number | string);
  'ci'?: (number | string);
  'replicates'?: (number);
}

export interface Best__Output {
  'trial_id': (string);
  'number': (number);
  'params_json': (string);
  'metric': (string);
  'value': (number);
  'ci': (number);
  'replicates': (number);
}
