/**
 * The coordinator's back-pressure and fairness bounds, each configurable (shared/env.ts,
 * README "Environment variables"). A caller is its token name, or its peer host when the
 * coordinator runs without tokens (coordinator/flow/callers.ts).
 */
import { env } from '../../shared/env.js';

export interface FlowLimits {
  /** Open server streams (WatchEvents, Connect) per caller. */
  streamsPerCaller: number;
  /** Unary calls per second per caller; bursts of twice that are allowed. */
  callsPerSecond: number;
  /** Messages per second per worker stream (reports, heartbeats); bursts of twice that. */
  reportsPerSecond: number;
  /** How long a watcher's full stream may stay full before it is disconnected (with a resume point). */
  watchDrainMs: number;
  /** Live events kept per watcher while its stream is full; past it they are re-read from the store. */
  watchBufferedEvents: number;
  /** An upload that sends nothing for this long is ended. */
  uploadIdleMs: number;
  /** An upload that takes longer than this in total is ended. */
  uploadDeadlineMs: number;
  /** Bytes of one upload. */
  uploadMaxBytes: number;
  /** Bytes of all uploads in flight together. */
  uploadsMaxBytes: number;
  /** Bytes of one streamed artifact (PutArtifactStream). */
  artifactMaxBytes: number;
  /** Where partial streamed uploads wait for their rest (undefined: a fresh folder under the OS temp dir). */
  stagingDir?: string;
  /** Bytes all partial streamed uploads may reserve together. */
  stagingMaxBytes: number;
  /** A partial streamed upload untouched for this long is deleted. */
  stagingTtlMs: number;
}

export function flowLimitsFromEnv(): FlowLimits {
  const e = env();
  return {
    streamsPerCaller: e.TRELLIS_STREAMS_PER_CALLER,
    callsPerSecond: e.TRELLIS_CALLS_PER_SECOND,
    reportsPerSecond: e.TRELLIS_REPORTS_PER_SECOND,
    watchDrainMs: e.TRELLIS_WATCH_DRAIN_MS,
    watchBufferedEvents: 1000,
    uploadIdleMs: e.TRELLIS_UPLOAD_IDLE_MS,
    uploadDeadlineMs: e.TRELLIS_UPLOAD_DEADLINE_MS,
    uploadMaxBytes: e.TRELLIS_UPLOAD_MAX_BYTES,
    uploadsMaxBytes: e.TRELLIS_UPLOADS_MAX_BYTES,
    artifactMaxBytes: e.TRELLIS_ARTIFACT_MAX_BYTES,
    ...(e.TRELLIS_ARTIFACT_STAGING_DIR ? { stagingDir: e.TRELLIS_ARTIFACT_STAGING_DIR } : {}),
    stagingMaxBytes: e.TRELLIS_ARTIFACT_STAGING_MAX_BYTES,
    stagingTtlMs: e.TRELLIS_ARTIFACT_STAGING_TTL_MS,
  };
}
