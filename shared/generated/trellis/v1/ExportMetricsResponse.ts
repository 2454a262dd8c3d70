// Original file: proto/trellis/v1/experiment.proto

import type { MetricRow as _trellis_v1_MetricRow, MetricRow__Output as _trellis_v1_MetricRow__Output } from '../../trellis/v1/MetricRow.js';

export interface ExportMetricsResponse {
  'rows'?: (_trellis_v1_MetricRow)[];
}

export interface ExportMetricsResponse__Output {
  'rows': (_trellis_v1_MetricRow__Output)[];
}
