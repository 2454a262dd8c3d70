/**
 * `budget.retry`: what each failure kind (shared/failure-kinds.ts) does to its trial. Every kind
 * has `attempts` (how many attempts that ended with this kind a trial may retry after; 0 = the
 * trial fails at the first) and `count` (whether such attempts use up `budget.maxAttempts`).
 * Defaults (README "Failure kinds"): preemptions and lost workers do not count; deterministic
 * user errors fail fast and three in a row fail the experiment; an OOM retries twice, halving
 * `then`'s parameter when one is named.
 */
import { z } from 'zod';

const attempts = z.number().int().min(0).max(1000);

/**
 * `then` of the oom policy: `halve NAME` (a numeric trial parameter, e.g. batchSize), `more gpu
 * memory` (the trial's next attempt asks for 1.5x its GPU memory share: coordinator/sweeps/
 * gpu-packing.ts) or `none`.
 */
export const oomThen = z
  .string()
  .regex(
    /^(none|more gpu memory|halve [A-Za-z_][A-Za-z0-9_.]{0,99})$/,
    'must be "none", "more gpu memory" or "halve PARAM" (e.g. "halve batchSize")',
  );

export const retrySchema = z.strictObject({
  oom: z
    .strictObject({ attempts: attempts.default(2), count: z.boolean().default(true), then: oomThen.default('none') })
    .default({ attempts: 2, count: true, then: 'none' }),
  diverged: z
    .strictObject({ attempts: attempts.default(0), count: z.boolean().default(true) })
    .default({ attempts: 0, count: true }),
  preempted: z
    .strictObject({ attempts: attempts.default(20), count: z.boolean().default(false) })
    .default({ attempts: 20, count: false }),
  lost: z
    .strictObject({ attempts: attempts.default(5), count: z.boolean().default(false) })
    .default({ attempts: 5, count: false }),
  timeout: z
    .strictObject({ attempts: attempts.default(1), count: z.boolean().default(true) })
    .default({ attempts: 1, count: true }),
  user_error: z
    .strictObject({
      attempts: attempts.default(0),
      count: z.boolean().default(true),
      /** This many attempts in a row ending as user_error (across trials) fail the experiment; 0 = never. */
      failExperimentAfter: z.number().int().min(0).max(1000).default(3),
    })
    .default({ attempts: 0, count: true, failExperimentAfter: 3 }),
  crash: z
    .strictObject({ attempts: attempts.default(2), count: z.boolean().default(true) })
    .default({ attempts: 2, count: true }),
});

export type RetryPolicy = z.output<typeof retrySchema>;

/** The defaults, for specs stored before `budget.retry` existed. */
export const DEFAULT_RETRY: RetryPolicy = retrySchema.parse({});

/** `then: "halve batchSize"` → "batchSize"; undefined for `none`. */
export function halvedParam(then: string): string | undefined {
  return then.startsWith('halve ') ? then.slice('halve '.length) : undefined;
}
