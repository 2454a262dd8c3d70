/**
 * Failure kinds: the classifier (shared/failure-kinds.ts) on the texts the frameworks really
 * print, and the per-kind retry policy (`budget.retry`) as the outcome table applies it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyError, classifyExit, FailureScanner, type Failure } from '../../shared/failure-kinds.js';
import { retrySchema, DEFAULT_RETRY } from '../../shared/spec/retry.js';
import { decideOutcome, type AttemptOutcome } from '../../coordinator/sweeps/outcome.js';
import { UserErrorStreak, workerFailure } from '../../coordinator/sweeps/failures.js';
import type { AttemptDoc, FailureKind, TrialDoc } from '../../shared/types.js';
import type { AttemptStatus } from '../../shared/states.js';
import { splitTrials } from '../../coordinator/search/tpe.js';
import type { TrialObservation } from '../../coordinator/search/base.js';

export const TORCH_CUDA_OOM = [
  'Traceback (most recent call last):',
  '  File "/opt/train.py", line 41, in <module>',
  '    logits = model(batch)',
  '  File "/opt/venv/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1553, in _call_impl',
  '    raise OutOfMemoryError(msg)',
  'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity of 79.15 GiB of which 9.88 GiB is free. Including non-PyTorch memory, this process has 69.26 GiB memory in use. Of the allocated memory 68.71 GiB is allocated by PyTorch, and 52.11 MiB is reserved by PyTorch but unallocated. If reserved but unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  See documentation for Memory Management  (https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)',
];
export const TF_OOM = [
  'Traceback (most recent call last):',
  '  File "/opt/train_tf.py", line 12, in <module>',
  '    y = tf.matmul(a, b)',
  'tensorflow.python.framework.errors_impl.ResourceExhaustedError: {{function_node __wrapped__MatMul_device_/job:localhost/replica:0/task:0/device:GPU:0}} OOM when allocating tensor with shape[65536,65536] and type float on /job:localhost/replica:0/task:0/device:GPU:0 by allocator GPU_0_bfc [Op:MatMul]',
];

function scan(lines: readonly string[]): FailureScanner {
  const scanner = new FailureScanner();
  for (const line of lines) scanner.observe(line);
  return scanner;
}

function exit(lines: readonly string[], code: number | null, signal: string | null, reported = false): Failure {
  return classifyExit({ exitCode: code, signal, reported, ...scan(lines).signatures });
}

describe('classifyExit: the kind of a failed program run', () => {
  it('PyTorch CUDA OOM and TensorFlow OOM texts are oom, with the line as evidence', () => {
    const torch = exit(TORCH_CUDA_OOM, 1, null, true);
    assert.equal(torch.kind, 'oom');
    assert.match(torch.evidence, /^torch\.OutOfMemoryError: CUDA out of memory\. Tried to allocate 20\.00 GiB/);
    assert.ok(torch.evidence.length <= 501);
    const tf = exit(TF_OOM, 1, null);
    assert.equal(tf.kind, 'oom');
    assert.match(tf.evidence, /ResourceExhaustedError: .*OOM when allocating tensor/);
  });

  it('an OOM line far above the end of the output still counts', () => {
    const noise = Array.from({ length: 500 }, (_, i) => `cleanup line ${i}`);
    assert.equal(exit([...TORCH_CUDA_OOM, ...noise], 1, null).kind, 'oom');
  });

  it('a SIGKILL nobody in Trellis sent is the kernel OOM killer', () => {
    const f = exit(['epoch 1'], null, 'SIGKILL', true);
    assert.equal(f.kind, 'oom');
    assert.match(f.evidence, /SIGKILL/);
    assert.equal(exit([], 137, null).kind, 'oom');
  });

  it('ImportError / ModuleNotFoundError / SyntaxError / FileNotFoundError / KeyError tracebacks before the first report are user errors', () => {
    for (const last of [
      "ModuleNotFoundError: No module named 'torchvisionn'",
      'ImportError: cannot import name "Foo" from "bar"',
      'SyntaxError: invalid syntax',
      "FileNotFoundError: [Errno 2] No such file or directory: 'data/train.csv'",
      "KeyError: 'learning_rate'",
    ]) {
      const f = exit(['Traceback (most recent call last):', '  File "t.py", line 3, in <module>', last], 1, null);
      assert.deepEqual(f, { kind: 'user_error', evidence: last }, last);
    }
  });

  it('the same exception after the first report is a crash', () => {
    const f = exit(['Traceback (most recent call last):', "KeyError: 'x'"], 1, null, true);
    assert.equal(f.kind, 'crash');
    assert.match(f.evidence, /after its first report/);
  });

  it('an argparse usage error is a user error; an exception name without a traceback is not', () => {
    const usage = ['usage: train.py [-h] --lr LR', 'train.py: error: the following arguments are required: --lr'];
    assert.deepEqual(exit(usage, 2, null), { kind: 'user_error', evidence: usage[1] });
    assert.equal(exit(["KeyError: 'x' (a log line, not a traceback)"], 1, null).kind, 'crash');
  });

  it('anything else is a crash naming the exit code or signal', () => {
    assert.deepEqual(exit(['segfault?'], 139, null), { kind: 'crash', evidence: 'exit code 139' });
    assert.deepEqual(exit([], null, 'SIGSEGV'), { kind: 'crash', evidence: 'killed by signal SIGSEGV' });
  });
});

describe('classifyError: failures known by their message', () => {
  it('a tfjs / Node allocation failure is oom; a permanent error a user error; else a crash', () => {
    assert.equal(classifyError('RangeError: Array buffer allocation failed', false).kind, 'oom');
    assert.equal(classifyError('Error: Failed to allocate 4294967296 bytes', false).kind, 'oom');
    assert.deepEqual(classifyError('trial.dataset.path: no such file\nmore', true), {
      kind: 'user_error',
      evidence: 'trial.dataset.path: no such file',
    });
    assert.equal(classifyError('socket hang up', false).kind, 'crash');
  });

  it('the coordinator keeps the worker kinds and refuses the coordinator-only ones from a worker', () => {
    assert.equal(workerFailure(true, 'oom', 'x').kind, 'oom');
    assert.equal(workerFailure(true, 'preempted', 'x').kind, 'crash');
    assert.equal(workerFailure(false, '', '').kind, 'user_error');
    assert.equal(workerFailure(true, 'nonsense', '').kind, 'crash');
  });
});

const NOW = 1_700_000_000_000;

function attempt(n: number, status: AttemptStatus, failureKind?: FailureKind): AttemptDoc {
  return {
    n,
    id: `e-t0-a${n}`,
    workerId: 'w',
    status,
    startedAt: n,
    leaseExpiresAt: n,
    ...(failureKind ? { failureKind } : {}),
  };
}

/** A running trial whose earlier attempts all ended with `kind` (`count` of them). */
function trialAfter(kind: FailureKind, count: number, params: TrialDoc['params'] = { lr: 0.1 }): TrialDoc {
  const status: AttemptStatus = kind === 'lost' ? 'lost' : kind === 'preempted' ? 'preempted' : 'failed';
  const earlier = Array.from({ length: count }, (_, i) => attempt(i + 1, status, kind));
  return {
    id: 'e-t0',
    experimentId: 'e',
    number: 0,
    status: 'running',
    params,
    seed: 1,
    attempts: [...earlier, attempt(count + 1, 'running')],
    metrics: {},
    createdAt: 1,
    updatedAt: 1,
  };
}

function failedAs(kind: FailureKind): AttemptOutcome {
  if (kind === 'lost') return { kind: 'lost', reason: 'lease expired on worker w' };
  if (kind === 'preempted') return { kind: 'preempted', reason: 'w was drained' };
  return { kind: 'failed', error: `${kind} happened`, failure: { kind, evidence: 'e' } };
}

/** How many attempts of `kind` in a row a trial gets before it fails, under `policy`. */
function attemptsUntilFailed(kind: FailureKind, policy: Parameters<typeof decideOutcome>[2]): number {
  for (let prior = 0; prior < 100; prior++) {
    if (decideOutcome(trialAfter(kind, prior), failedAs(kind), policy, NOW)!.status === 'failed') return prior + 1;
  }
  return Infinity;
}

describe('budget.retry defaults (README "Failure kinds")', () => {
  const policy = { maxAttempts: 3, retry: DEFAULT_RETRY };

  it('attempts each kind gets, maxAttempts 3', () => {
    assert.equal(attemptsUntilFailed('diverged', policy), 1);
    assert.equal(attemptsUntilFailed('user_error', policy), 1);
    assert.equal(attemptsUntilFailed('oom', policy), 3);
    assert.equal(attemptsUntilFailed('crash', policy), 3);
    assert.equal(attemptsUntilFailed('timeout', policy), 2);
    // Not counted against maxAttempts: only their own caps apply.
    assert.equal(attemptsUntilFailed('lost', policy), 6);
    assert.equal(attemptsUntilFailed('preempted', policy), 21);
  });

  it('preemptions and lost workers do not use up maxAttempts: a crash after five of them still retries', () => {
    const trial = trialAfter('preempted', 3);
    trial.attempts.splice(3, 0, attempt(4, 'lost', 'lost'), attempt(5, 'lost', 'lost'));
    const d = decideOutcome(trial, failedAs('crash'), { maxAttempts: 2, retry: DEFAULT_RETRY }, NOW)!;
    assert.equal(d.status, 'pending');
    assert.equal(d.patch.attempts!.at(-1)!.failureKind, 'crash');
  });

  it('counted kinds share maxAttempts: an oom after two crashes is the last', () => {
    const trial = trialAfter('crash', 2);
    assert.equal(decideOutcome(trial, failedAs('oom'), policy, NOW)!.status, 'failed');
  });

  it('oom with `then: halve batchSize` retries with half the batch size (from the params or the trial block)', () => {
    const retry = retrySchema.parse({ oom: { then: 'halve batchSize' } });
    const searched = decideOutcome(
      trialAfter('oom', 0, { batchSize: 64 }),
      failedAs('oom'),
      { maxAttempts: 3, retry },
      NOW,
    )!;
    assert.equal(searched.status, 'pending');
    assert.deepEqual(searched.patch.params, { batchSize: 32 });
    assert.match(searched.error!, /retrying with batchSize=32 \(halved after oom\)/);
    const fixed = decideOutcome(
      trialAfter('oom', 0),
      failedAs('oom'),
      {
        maxAttempts: 3,
        retry,
        trialDefaults: { batchSize: 33 },
      },
      NOW,
    )!;
    assert.deepEqual(fixed.patch.params, { lr: 0.1, batchSize: 16 });
    // No retry left: nothing is halved.
    const last = decideOutcome(
      trialAfter('oom', 2, { batchSize: 8 }),
      failedAs('oom'),
      { maxAttempts: 9, retry },
      NOW,
    )!;
    assert.equal(last.status, 'failed');
    assert.equal(last.patch.params, undefined);
  });

  it('bad retry settings are refused, naming the rule', () => {
    assert.throws(() => retrySchema.parse({ oom: { then: 'double batchSize' } }), /halve PARAM/);
    assert.throws(() => retrySchema.parse({ crash: { attempts: -1 } }));
    assert.throws(() => retrySchema.parse({ bogus: {} }));
  });
});

describe('user errors in a row fail the experiment', () => {
  const userError: Failure = { kind: 'user_error', evidence: "ModuleNotFoundError: No module named 'x'" };
  it('the third in a row returns the error naming the evidence; a success resets the streak', () => {
    const streak = new UserErrorStreak(3);
    assert.equal(streak.observe(false, userError, 'exit 1'), undefined);
    assert.equal(streak.observe(false, { kind: 'crash', evidence: '' }, 'x'), undefined);
    assert.equal(streak.observe(true, undefined, undefined), undefined);
    assert.equal(streak.observe(false, userError, 'exit 1'), undefined);
    assert.equal(streak.observe(false, userError, 'exit 1'), undefined);
    const error = streak.observe(false, userError, 'exit 1');
    assert.match(error!, /^3 attempts in a row failed with a user error .*No module named 'x'/);
    assert.equal(streak.observe(false, userError, 'exit 1'), undefined, 'fires once');
    const never = new UserErrorStreak(0);
    for (let i = 0; i < 5; i++) assert.equal(never.observe(false, userError, 'e'), undefined);
  });
});

describe('TPE learns from failure kinds', () => {
  it('diverged: a finished bad observation; infeasible (oom): bad, not counted as finished; other failures: ignored', () => {
    const obs = (number: number, extra: Partial<TrialObservation>): TrialObservation => ({
      number,
      params: { lr: number / 10 },
      state: 'complete',
      ...extra,
    });
    const history = [
      obs(0, { value: 1 }),
      obs(1, { value: 2 }),
      obs(2, { state: 'failed', failure: 'diverged' }),
      obs(3, { state: 'failed', failure: 'infeasible' }),
      obs(4, { state: 'failed' }),
    ];
    const split = splitTrials(99, history, false);
    assert.equal(split.finished, 3);
    assert.deepEqual(
      split.below.map((t) => t.number),
      [1],
    );
    assert.deepEqual(
      split.above.map((t) => t.number),
      [0, 2, 3],
    );
  });
});
