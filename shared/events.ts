/**
 * Events: every state change and metric report, published after the state is stored.
 * `seq` is per experiment, starts at 1 and has no gaps; consumers de-duplicate on it.
 * Subjects: trellis.v1.exp.<id>.state, trellis.v1.exp.<id>.trial.<n>.{state,metric},
 * trellis.v1.exp.<id>.stage.<name>.state, trellis.v1.worker.<id>.state.
 */
export type EventType =
  'experiment.state' | 'trial.state' | 'trial.metric' | 'attempt.state' | 'stage.state' | 'worker.state';

export interface TrellisEvent {
  /** Per-experiment sequence number (0 for worker events, which belong to no experiment). */
  seq: number;
  type: EventType;
  /** Epoch milliseconds. */
  time: number;
  experimentId?: string;
  trialNumber?: number;
  trialId?: string;
  workerId?: string;
  stage?: string;
  payload: Record<string, unknown>;
}

export const SUBJECT_ROOT = 'trellis.v1';

export function subjectOf(event: TrellisEvent): string {
  const exp = `${SUBJECT_ROOT}.exp.${event.experimentId ?? '_'}`;
  switch (event.type) {
    case 'experiment.state':
      return `${exp}.state`;
    case 'trial.state':
    case 'attempt.state':
      return `${exp}.trial.${event.trialNumber ?? 0}.state`;
    case 'trial.metric':
      return `${exp}.trial.${event.trialNumber ?? 0}.metric`;
    case 'stage.state':
      return `${exp}.stage.${event.stage ?? '_'}.state`;
    case 'worker.state':
      return `${SUBJECT_ROOT}.worker.${event.workerId ?? '_'}.state`;
  }
}

/** Message id used for de-duplication of a re-published event. */
export function eventId(event: TrellisEvent): string {
  return event.type === 'worker.state'
    ? `w:${event.workerId}:${event.time}:${String(event.payload.status)}`
    : `e:${event.experimentId}:${event.seq}`;
}
