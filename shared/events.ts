/**
 * Events: every state change and metric report, published after the state is stored.
 * `seq` is per experiment, starts at 1 and has no gaps; consumers de-duplicate on it.
 * Subjects: trellis.v1.exp.<id>.state, trellis.v1.exp.<id>.trial.<n>.{state,metric},
 * trellis.v1.exp.<id>.stage.<name>.state, trellis.v1.worker.<id>.state. Ids and names go
 * through `subjectToken`, so a worker id with dots (a host name) is one token. Payload fields per
 * type: docs/events.md.
 */
export type EventType = 'experiment.state' | 'trial.state' | 'trial.metric' | 'stage.state' | 'worker.state';

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

/**
 * One NATS subject token for any text: bytes outside [A-Za-z0-9_-] become `%HH` (UTF-8), so
 * `.`, `*`, `>`, spaces and `%` itself cannot split or widen a subject, and the mapping is
 * reversible. Empty text is a lone `%` (no encoding makes one). Subscribe to one worker with `trellis.v1.worker.<token>.state`.
 */
export function subjectToken(text: string): string {
  if (text === '') return '%';
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function subjectOf(event: TrellisEvent): string {
  const exp = `${SUBJECT_ROOT}.exp.${subjectToken(event.experimentId ?? '')}`;
  switch (event.type) {
    case 'experiment.state':
      return `${exp}.state`;
    case 'trial.state':
      return `${exp}.trial.${event.trialNumber ?? 0}.state`;
    case 'trial.metric':
      return `${exp}.trial.${event.trialNumber ?? 0}.metric`;
    case 'stage.state':
      return `${exp}.stage.${subjectToken(event.stage ?? '')}.state`;
    case 'worker.state':
      return `${SUBJECT_ROOT}.worker.${subjectToken(event.workerId ?? '')}.state`;
  }
}

/** Message id used for de-duplication of a re-published event. */
export function eventId(event: TrellisEvent): string {
  return event.type === 'worker.state'
    ? `w:${event.workerId}:${event.time}:${String(event.payload.status)}`
    : `e:${event.experimentId}:${event.seq}`;
}
