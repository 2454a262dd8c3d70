// Original file: proto/trellis/v1/experiment.proto

import type { MetricRow as _trellis_v1_MetricRow, MetricRow__Output as _trellis_v1_MetricRow__Output } from '../../trellis/v1/MetricRow.js';

export interface ExportMetricsResponse {
  'rows'?: (_trellis_v1_MetricRow)[];
  'next_page_token'?: (string);
}

export interface ExportMetricsResponse__Output {
  'rows': (_trellis_v1_MetricRow__Output)[];
  'next_page_token': (string);
}
