/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access -- patches build malformed specs on purpose */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateSweep as validateSpec, validateSpecText } from '../../coordinator/experiments/validate.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { resolveTrialConfig } from '../../shared/spec/resolve.js';
import { objectivesOf, primaryObjective } from '../../shared/spec/schema.js';
import { pruneLossParams } from '../../coordinator/experiments/loss-params.js';

const good = {
  apiVersion: 'trellis/v1',
  kind: 'Sweep',
  name: 'optdigits-losses',
  trial: { runtime: 'tfjs', task: 'classify', dataset: 'optdigits', model: { type: 'mlp', hidden: [64] }, epochs: 3 },
  search: {
    algorithm: 'random',
    seed: 7,
    space: {
      lr: { loguniform: [1e-4, 1e-1] },
      loss: { choice: ['ce', 'gce'] },
      'loss.q': { uniform: [0.3, 0.9], when: { loss: 'gce' } },
    },
  },
  budget: { trials: 4, concurrency: 2 },
};

function issuesOf(spec: unknown): string[] {
  try {
    validateSpec(spec);
  } catch (err) {
    assert.ok(err instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail('spec was accepted');
}

function withPatch(patch: (spec: Record<string, any>) => void): unknown {
  const spec = structuredClone(good) as Record<string, any>;
  patch(spec);
  return spec;
}

describe('spec validation', () => {
  it('accepts a good spec and fills defaults', () => {
    const spec = validateSpec(good);
    assert.equal(spec.trial.batchSize, 64);
    assert.equal(primaryObjective(spec.trial).metric, 'val_accuracy');
    assert.equal(spec.budget.maxAttempts, 3);
    assert.equal(spec.scheduler.type, 'fifo');
    assert.deepEqual(spec.search.space.lr, { kind: 'loguniform', low: 1e-4, high: 1e-1 });
  });

  it('accepts a list of objectives with nsga2 and motpe; random, sobol and grid need no objective', () => {
    for (const algorithm of ['nsga2', 'motpe', 'random', 'sobol', 'grid']) {
      const spec = validateSpec(
        withPatch((s) => {
          s.trial.objective = [
            { metric: 'test_accuracy', mode: 'max' },
            { metric: 'group_gap', mode: 'min' },
          ];
          s.trial.objectiveReference = [0, 1];
          s.search.algorithm = algorithm;
        }),
      );
      assert.deepEqual(objectivesOf(spec.trial), [
        { metric: 'test_accuracy', mode: 'max' },
        { metric: 'group_gap', mode: 'min' },
      ]);
      assert.equal(primaryObjective(spec.trial).metric, 'test_accuracy');
    }
  });

  it('accepts YAML text', () => {
    const spec = validateSpecText(`
apiVersion: trellis/v1
kind: Sweep
name: yaml-spec
trial: { runtime: command, command: [echo, hi] }
`);
    assert.equal(spec.name, 'yaml-spec');
    assert.equal(spec.kind, 'Sweep');
    assert.equal(spec.kind === 'Sweep' && spec.trial.runtime, 'command');
  });

  const bad: [string, (s: Record<string, any>) => void, RegExp][] = [
    [
      'loguniform low <= 0',
      (s) => (s.search.space.lr = { loguniform: [0, 1] }),
      /^search\.space\.lr\.loguniform: low must be > 0$/,
    ],
    [
      'uniform low >= high',
      (s) => (s.search.space.lr = { uniform: [1, 1] }),
      /^search\.space\.lr\.uniform: low must be < high$/,
    ],
    [
      'int not integers',
      (s) => (s.search.space.n = { int: [1.5, 3] }),
      /^search\.space\.n\.int: low and high must be integers$/,
    ],
    [
      'empty choice',
      (s) => (s.search.space.opt = { choice: [] }),
      /^search\.space\.opt\.choice: must be a non-empty list/,
    ],
    [
      'two kinds',
      (s) => (s.search.space.lr = { uniform: [0, 1], int: [0, 1] }),
      /^search\.space\.lr: must have exactly one of/,
    ],
    [
      'unknown domain field',
      (s) => (s.search.space.lr = { uniform: [0, 1], step: 2 }),
      /^search\.space\.lr\.step: unknown field/,
    ],
    [
      'condition on unknown param',
      (s) => (s.search.space['loss.q'].when = { optimizer: 'sgd' }),
      /^search\.space\.loss\.q\.when\.optimizer: names no parameter/,
    ],
    [
      'condition value not a choice',
      (s) => (s.search.space['loss.q'].when = { loss: 'mse' }),
      /^search\.space\.loss\.q\.when\.loss: "mse" is not one of loss's choices/,
    ],
    ['unknown top-level field', (s) => (s.budgets = {}), /unknown field budgets/],
    ['wrong apiVersion', (s) => (s.apiVersion = 'v2'), /^apiVersion: must be trellis\/v1$/],
    ['bad name', (s) => (s.name = 'has spaces'), /^name: must be 1-100 letters/],
    ['negative epochs', (s) => (s.trial.epochs = -1), /^trial\.epochs: /],
    [
      'unknown algorithm',
      (s) => (s.search.algorithm = 'bayes'),
      /search\.algorithm: unknown algorithm "bayes"; allowed: .*grid.*random/,
    ],
    [
      'unknown scheduler',
      (s) => (s.scheduler = { type: 'sha' }),
      /scheduler\.type: unknown scheduler "sha"; allowed: /,
    ],
    ['unknown loss', (s) => (s.search.space.loss = { choice: ['gce', 'hinge'] }), /search\.space\.loss: .*hinge/],
    [
      'bad loss param',
      (s) => (s.trial.loss = { name: 'gce', q: 1.5 }),
      /trial\.loss: loss gce: q must be in \(0, 1\], got 1\.5/,
    ],
    [
      'swept param of no loss',
      (s) => (s.search.space = { 'loss.gamma2': { uniform: [0, 1] } }),
      /search\.space\.loss\.gamma2: none of the losses/,
    ],
    [
      'command runtime without command',
      (s) => (s.trial = { runtime: 'command' }),
      /^trial\.command: required when trial\.runtime is command$/,
    ],
    ['zero concurrency', (s) => (s.budget.concurrency = 0), /^budget\.concurrency: /],
    [
      'a one-entry objective list',
      (s) => (s.trial.objective = [{ metric: 'val_accuracy' }]),
      /^trial\.objective: a list of objectives needs 2 to 4 entries \(one objective: give it as \{metric, mode\}\)$/,
    ],
    [
      'five objectives',
      (s) => (s.trial.objective = ['a', 'b', 'c', 'd', 'e'].map((metric) => ({ metric }))),
      /^trial\.objective: a list of objectives has at most 4 entries$/,
    ],
    [
      'a repeated objective metric',
      (s) => (s.trial.objective = [{ metric: 'a' }, { metric: 'a', mode: 'min' }]),
      /^trial\.objective: each objective must name a different metric$/,
    ],
    [
      'a bad mode inside the list',
      (s) => (s.trial.objective = [{ metric: 'a' }, { metric: 'b', mode: 'up' }]),
      /^trial\.objective: \[1\]\.mode: Invalid option/,
    ],
    [
      'an objective that is a string',
      (s) => (s.trial.objective = 'acc'),
      /^trial\.objective: must be \{metric, mode\}/,
    ],
    [
      'tpe on two objectives',
      (s) => ((s.trial.objective = [{ metric: 'a' }, { metric: 'b' }]), (s.search.algorithm = 'tpe')),
      /^search\.algorithm: tpe optimises one objective and trial\.objective lists 2; use motpe/,
    ],
    [
      'asha on two objectives',
      (s) => ((s.trial.objective = [{ metric: 'a' }, { metric: 'b' }]), (s.scheduler = { type: 'asha' })),
      /^scheduler\.type: asha ranks trials by one number and trial\.objective lists 2 objectives; .*\(allowed: fifo\)$/,
    ],
    [
      'a reference point of the wrong length',
      (s) => ((s.trial.objective = [{ metric: 'a' }, { metric: 'b' }]), (s.trial.objectiveReference = [0, 0, 0])),
      /^trial\.objectiveReference: needs 2 values, one per objective, got 3$/,
    ],
    [
      'a reference point for one objective',
      (s) => (s.trial.objectiveReference = [0, 0]),
      /^trial\.objectiveReference: only for a list of objectives/,
    ],
  ];
  for (const [what, patch, expected] of bad) {
    it(`rejects ${what}, naming the field`, () => {
      const issues = issuesOf(withPatch(patch));
      assert.ok(
        issues.some((i) => expected.test(i)),
        `issues ${JSON.stringify(issues)} do not match ${expected}`,
      );
    });
  }

  it('reports YAML syntax errors with their position', () => {
    assert.throws(
      () => validateSpecText('apiVersion: trellis/v1\nkind: [Sweep\n'),
      (err: Error) => {
        assert.ok(err instanceof InvalidArgumentError);
        assert.match(err.message, /^spec: not valid YAML or JSON at line \d+, column \d+/);
        return true;
      },
    );
  });
});

describe('resolving a trial config from params', () => {
  it('sets dotted params and turns a loss name into an object for its params', () => {
    const spec = validateSpec(good);
    const config = resolveTrialConfig(spec.trial, { lr: 0.01, loss: 'gce', 'loss.q': 0.5, 'model.hidden': [32, 16] });
    assert.equal(config.lr, 0.01);
    assert.deepEqual(config.loss, { name: 'gce', q: 0.5 });
    assert.deepEqual(config.model?.hidden, [32, 16]);
    assert.equal(spec.trial.lr, 1e-3, 'the spec itself is not modified');
  });

  it('drops loss params the chosen loss does not define', () => {
    const spec = validateSpec(good);
    const config = pruneLossParams(resolveTrialConfig(spec.trial, { loss: 'ce', 'loss.q': 0.5 }));
    assert.deepEqual(config.loss, { name: 'ce' });
  });
});
