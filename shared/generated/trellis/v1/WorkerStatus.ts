// Original file: proto/trellis/v1/common.proto

export const WorkerStatus = {
  WORKER_STATUS_UNSPECIFIED: 'WORKER_STATUS_UNSPECIFIED',
  WORKER_STATUS_CONNECTED: 'WORKER_STATUS_CONNECTED',
  WORKER_STATUS_DRAINING: 'WORKER_STATUS_DRAINING',
  WORKER_STATUS_DISCONNECTED: 'WORKER_STATUS_DISCONNECTED',
} as const;

export type WorkerStatus =
  | 'WORKER_STATUS_UNSPECIFIED'
  | 0
  | 'WORKER_STATUS_CONNECTED'
  | 1
  | 'WORKER_STATUS_DRAINING'
  | 2
  | 'WORKER_STATUS_DISCONNECTED'
  | 3

export type WorkerStatus__Output = typeof WorkerStatus[keyof typeof WorkerStatus]
