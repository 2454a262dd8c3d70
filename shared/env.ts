/**
 * Every environment variable Trellis reads, in one zod schema, parsed once per process (the
 * first time `env()` is called). A bad value fails loudly, naming the variable and what is
 * allowed; an empty value counts as unset. README.md lists the same variables: keep the two in
 * step. Tests parse their own records with `parseEnv`.
 *
 * Only this module reads `process.env`. The command runtime hands the worker's environment on to
 * the programs it starts (`inheritedEnv`), which is passing it through, not reading it.
 */
import { z } from 'zod';
import { InvalidArgumentError } from './errors.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** TensorFlow.js backends TRELLIS_TF_BACKEND may force (worker/runtimes/tfjs/backend.ts). */
export const TF_BACKENDS = ['cpu', 'wasm', 'tensorflow', 'tensorflow-gpu'] as const;
/** How MongoStore does compare-and-set (coordinator/store/mongo.ts). */
export const MONGO_CAS_MODES = ['native', 'claims', 'auto'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];
export type TfBackendName = (typeof TF_BACKENDS)[number];
export type MongoCasMode = (typeof MONGO_CAS_MODES)[number];
export type WriteConcern = 'majority' | number;

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });

const flag = (meaning: string) =>
  z
    .enum(['0', '1', 'true', 'false'], { error: `must be 1 or true (${meaning}), 0 or false` })
    .transform((value) => value === '1' || value === 'true');

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, { error: 'must be host:port, e.g. 127.0.0.1:50051' });

const wholeAtLeast = (min: number, unit: string) =>
  z.coerce
    .number({ error: `must be a whole number of ${unit} >= ${min}` })
    .int({ error: `must be a whole number of ${unit} >= ${min}` })
    .min(min, { error: `must be a whole number of ${unit} >= ${min}` });

const schema = z.object({
  // -- every process
  TRELLIS_LOG_LEVEL: oneOf(LOG_LEVELS).optional(),
  // -- clients and the CLI
  TRELLIS_COORDINATOR: hostPort.default('127.0.0.1:50051'),
  TRELLIS_HOME: z.string().default('.trellis'),
  /** The caller's token, sent as call metadata (clients and workers; `--token` overrides). */
  TRELLIS_TOKEN: z.string().optional(),
  /** CA bundle (PEM) that signed the coordinator's TLS certificate (clients and workers; `--tls-ca` overrides). */
  TRELLIS_TLS_CA: z.string().optional(),
  // -- the coordinator: store
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/\S+$/, { error: 'must be a MongoDB connection string (mongodb:// or mongodb+srv://)' })
    .optional(),
  /** CA bundle (PEM) for a MongoDB served over TLS (the driver's tlsCAFile). */
  MONGODB_TLS_CA_FILE: z.string().optional(),
  TRELLIS_DB: z
    .string()
    .regex(/^[^/\\. "$*<>:|?]{1,63}$/, { error: 'must be a database name of 1-63 characters, none of /\\. "$*<>:|?' })
    .default('trellis'),
  TRELLIS_WRITE_CONCERN: z
    .string()
    .regex(/^(majority|\d+)$/, { error: "must be 'majority' or a number of members" })
    .transform((value): WriteConcern => (value === 'majority' ? value : Number(value)))
    .default('majority'),
  TRELLIS_MONGO_CAS: oneOf(MONGO_CAS_MODES).default('auto'),
  TRELLIS_DURABLE: flag('fsync every local store journal write').default(false),
  // -- the coordinator: authentication (coordinator/auth/tokens.ts)
  TRELLIS_TOKENS_FILE: z.string().optional(),
  // -- the coordinator: events and leases
  NATS_URL: z
    .string()
    .refine((value) => value.split(',').every((server) => /^\S+$/.test(server.trim())), {
      error: 'must be NATS server URLs, comma-separated (e.g. nats://127.0.0.1:4222)',
    })
    .optional(),
  /** NATS credentials file (JWT + nkey seed, `nsc` format); user/password or a token go in NATS_URL. */
  NATS_CREDS: z.string().optional(),
  /** CA bundle (PEM) for a NATS server served over TLS (then TLS is required; tls:// URLs also turn it on). */
  NATS_TLS_CA: z.string().optional(),
  // Events stream retention (coordinator/bus/registry.ts turns these into ms and bytes); unset:
  // the stream's own limits are left as they are.
  TRELLIS_EVENTS_MAX_AGE: z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*[smhd]?\s*$/, { error: 'must be a duration: seconds, or e.g. 90s, 30m, 12h, 7d' })
    .optional(),
  TRELLIS_EVENTS_MAX_BYTES: z
    .string()
    .regex(/^\s*(-1|\d+\s*(Ki|Mi|Gi|Ti)?)\s*$/, { error: 'must be a size: bytes, -1 (no limit), or e.g. 512Mi, 10Gi' })
    .optional(),
  TRELLIS_LEASE_MS: z.coerce
    .number({ error: 'must be a whole number of milliseconds >= 100' })
    .int({ error: 'must be a whole number of milliseconds >= 100' })
    .min(100, { error: 'must be a whole number of milliseconds >= 100' })
    .default(30_000),
  // -- the coordinator: back-pressure and fairness (coordinator/flow/limits.ts)
  TRELLIS_STREAMS_PER_CALLER: wholeAtLeast(1, 'streams').default(100),
  TRELLIS_CALLS_PER_SECOND: wholeAtLeast(1, 'calls per second').default(200),
  TRELLIS_REPORTS_PER_SECOND: wholeAtLeast(1, 'reports per second').default(2000),
  TRELLIS_WATCH_DRAIN_MS: wholeAtLeast(100, 'milliseconds').default(10_000),
  TRELLIS_UPLOAD_IDLE_MS: wholeAtLeast(100, 'milliseconds').default(30_000),
  TRELLIS_UPLOAD_DEADLINE_MS: wholeAtLeast(100, 'milliseconds').default(600_000),
  TRELLIS_UPLOAD_MAX_BYTES: wholeAtLeast(1024, 'bytes').default(256 * 1024 * 1024),
  TRELLIS_UPLOADS_MAX_BYTES: wholeAtLeast(1024, 'bytes').default(512 * 1024 * 1024),
  TRELLIS_MESSAGE_MAX_BYTES: wholeAtLeast(1024, 'bytes').default(8 * 1024 * 1024),
  TRELLIS_WORKER_MESSAGE_MAX_BYTES: wholeAtLeast(1024, 'bytes').default(1024 * 1024),
  // -- the coordinator: streamed artifacts (coordinator/artifacts/staging.ts)
  TRELLIS_ARTIFACT_MAX_BYTES: wholeAtLeast(1024, 'bytes').default(64 * 1024 ** 3),
  TRELLIS_ARTIFACT_STAGING_DIR: z.string().optional(),
  TRELLIS_ARTIFACT_STAGING_MAX_BYTES: wholeAtLeast(1024, 'bytes').default(16 * 1024 ** 3),
  TRELLIS_ARTIFACT_STAGING_TTL_MS: wholeAtLeast(1000, 'milliseconds').default(3_600_000),
  // -- workers
  TRELLIS_WORKER_ID: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/, { error: 'must be 1-253 letters, digits, ".", "_" or "-"' })
    .optional(),
  TRELLIS_WORKER_MEMORY: z.coerce
    .number({ error: 'must be a number of bytes > 0' })
    .positive({ error: 'must be a number of bytes > 0' })
    .optional(),
  TRELLIS_REAPER: flag('kill the programs of a worker that dies').default(true),
  TRELLIS_SPAWNER: flag("start programs from a helper process, off the worker's event loop").default(true),
  /** Benchmarks: the worker stamps each attempt's dispatch stages into its result (shared/dispatch-trace.ts). */
  TRELLIS_DISPATCH_TRACE: flag("stamp each attempt's dispatch stages into its result").default(false),
  TRELLIS_TF_BACKEND: z
    .string()
    .transform((value) => value.trim().toLowerCase())
    .pipe(oneOf(TF_BACKENDS))
    .optional(),
  /**
   * TEST-ONLY: a fake GPU inventory instead of nvidia-smi (worker/gpus/fake.ts), a JSON array of
   * GPUs, e.g. [{"total":"16Gi"},{"total":"16Gi","used":"1Gi"}]; ids are the positions 0, 1, ...
   */
  TRELLIS_FAKE_GPUS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(
      z
        .array(
          z.strictObject({
            total: z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti)?$/),
            used: z
              .string()
              .regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti)?$/)
              .optional(),
            name: z.string().max(100).optional(),
          }),
          { error: 'must be a JSON array of {"total": "16Gi", "used"?: "1Gi", "name"?: "..."}' },
        )
        .min(1)
        .max(64),
    )
    .optional(),
  /**
   * TEST-ONLY, with TRELLIS_FAKE_GPUS: a folder where a test program declares its GPU memory, as a
   * file named by its pid holding "GPU_ID BYTES" (the fake's stand-in for nvidia-smi's per-process
   * used_memory; files of dead pids are ignored).
   */
  TRELLIS_FAKE_GPU_PROCS: z.string().optional(),
  // -- the dashboard's browser tests and bench
  TRELLIS_CHROMIUM: z.string().default('/usr/bin/chromium'),
});

export type TrellisEnv = z.output<typeof schema>;
/** The names of the variables, as README.md documents them. */
export const ENV_NAMES = Object.keys(schema.shape) as (keyof TrellisEnv)[];

/** A bad environment variable; the CLI exits 2 on it. */
export class EnvError extends InvalidArgumentError {}

/** Parses a record of environment variables (blank values count as unset). Throws EnvError. */
export function parseEnv(source: Record<string, string | undefined>): TrellisEnv {
  const present: Record<string, string> = {};
  for (const name of ENV_NAMES) {
    const value = source[name];
    if (value !== undefined && value.trim() !== '') present[name] = value;
  }
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  throw new EnvError(
    result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      return `${name}: ${issue.message}, got ${JSON.stringify(present[name])}`;
    }),
  );
}

let parsed: TrellisEnv | undefined;

/** This process's environment, parsed on the first call. */
export function env(): TrellisEnv {
  parsed ??= parseEnv(process.env);
  return parsed;
}

let inherited: Readonly<NodeJS.ProcessEnv> | undefined;

/**
 * A copy of this process's whole environment, for a child process to inherit: taken on the
 * first call, like `env()` (Trellis never changes its own environment), and copied from that
 * plain object afterwards. Spreading `process.env` asks the C library for every variable,
 * ~50 µs per program started.
 */
export function inheritedEnv(): NodeJS.ProcessEnv {
  inherited ??= Object.freeze({ ...process.env });
  return { ...inherited };
}
