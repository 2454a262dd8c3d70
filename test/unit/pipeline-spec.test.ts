import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateSpec } from '../../coordinator/experiments/validate.js';
import { InvalidArgumentError } from '../../shared/errors.js';
import { findCycle, type PipelineSpec } from '../../coordinator/pipelines/spec.js';
import { substitute } from '../../coordinator/pipelines/refs.js';
import { expandTemplate } from '../../coordinator/pipelines/templates/registry.js';
import { stableStringify } from '../../coordinator/pipelines/engine.js';

function pipeline(stages: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'trellis/v1', kind: 'Pipeline', name: 'p', stages, ...extra };
}

const cmd = (name: string, needs: string[] = [], options: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  needs,
  command: ['node', 'stage.mjs'],
  params: { options: { name, ...options } },
});

function issuesOf(spec: unknown): string[] {
  try {
    validateSpec(spec);
  } catch (err) {
    assert.ok(err instanceof InvalidArgumentError, String(err));
    return err.issues;
  }
  assert.fail('the spec was accepted');
}

describe('pipeline spec validation', () => {
  it('accepts a diamond with references to needed stages', () => {
    const spec = validateSpec(
      pipeline([
        cmd('a'),
        cmd('b', ['a'], { inputs: ['${stages.a.outputs.value}'] }),
        cmd('c', ['a']),
        cmd('d', ['b', 'c'], { inputs: ['${stages.b.outputs.value}', '${stages.c.outputs.value}'] }),
      ]),
    ) as PipelineSpec;
    assert.equal(spec.kind, 'Pipeline');
    assert.deepEqual(
      spec.stages.map((s) => s.name),
      ['a', 'b', 'c', 'd'],
    );
    assert.equal(spec.stages[0]!.retry.attempts, 3);
  });

  it('names the stage and field of an unknown needed stage', () => {
    assert.deepEqual(issuesOf(pipeline([cmd('a', ['nope'])])), ['stages.a.needs: unknown stage "nope"']);
  });

  it('reports a cycle with its path', () => {
    assert.deepEqual(issuesOf(pipeline([cmd('a', ['c']), cmd('b', ['a']), cmd('c', ['b'])])), [
      'stages: the needs form a cycle: a -> c -> b -> a',
    ]);
  });

  it('refuses a reference to a stage that is not in needs', () => {
    assert.deepEqual(issuesOf(pipeline([cmd('a'), cmd('b', [], { x: '${stages.a.outputs.value}' })])), [
      'stages.b.params.options.x: ${stages.a.outputs.value} refers to stage "a", which is not in stages.b.needs',
    ]);
  });

  it('refuses a reference to an output the stage kind does not produce', () => {
    const stages = [
      { name: 'train', task: 'mlff-train', params: { options: { data: 'accurate' } } },
      {
        name: 'next',
        needs: ['train'],
        task: 'mlff-train',
        params: { options: { init: '${stages.train.outputs.weights}' } },
      },
    ];
    assert.deepEqual(issuesOf(pipeline(stages)), [
      'stages.next.params.options.init: ${stages.train.outputs.weights}: stage "train" (task mlff-train) does not produce output "weights"; it produces: checkpoint',
    ]);
  });

  it('refuses best.* of a task stage (only sweeps have a best trial)', () => {
    assert.deepEqual(issuesOf(pipeline([cmd('a'), cmd('b', ['a'], { lr: '${stages.a.best.params.lr}' })])), [
      'stages.b.params.options.lr: ${stages.a.best.params.lr}: stage "a" is a task stage and has no best trial (only sweep stages do)',
    ]);
  });

  it('refuses duplicate names, a stage that is both task and sweep, and an invalid stage sweep', () => {
    const issues = issuesOf(
      pipeline([
        cmd('a'),
        cmd('a'),
        { name: 'both', task: 'classify', sweep: { trial: { task: 'classify' } } },
        {
          name: 'tune',
          sweep: {
            trial: { runtime: 'tfjs', task: 'classify', dataset: 'optdigits' },
            search: { space: { lr: { loguniform: [0, 1] } } },
          },
        },
      ]),
    );
    assert.ok(issues.includes('stages[1].name: duplicate stage name "a"'), JSON.stringify(issues));
    assert.ok(
      issues.includes('stages.both: a stage is either a task (runtime, task, command) or a sweep, not both'),
      JSON.stringify(issues),
    );
  });

  it('checks a stage sweep like a submitted sweep, naming the stage', () => {
    const issues = issuesOf(
      pipeline([
        {
          name: 'tune',
          sweep: {
            trial: { runtime: 'tfjs', task: 'classify', dataset: 'optdigits' },
            search: { space: { lr: { loguniform: [0, 1] } } },
          },
        },
      ]),
    );
    assert.deepEqual(issues, ['stages.tune.sweep: search.space.lr.loguniform: low must be > 0']);
  });

  it('expands templates and rejects unknown ones and bad template params', () => {
    const expanded = expandTemplate({
      apiVersion: 'trellis/v1',
      kind: 'Pipeline',
      name: 'u',
      template: 'useful',
      params: { epochs: 5 },
    }) as { stages: { name: string }[] };
    assert.deepEqual(
      expanded.stages.map((s) => s.name),
      ['baseline', 'early', 'cluster', 'retrain'],
    );
    assert.deepEqual(issuesOf({ apiVersion: 'trellis/v1', kind: 'Pipeline', name: 'x', template: 'nope' }), [
      'template: unknown template "nope"; allowed: asteroid, chem-labels, useful',
    ]);
    assert.match(
      issuesOf({
        apiVersion: 'trellis/v1',
        kind: 'Pipeline',
        name: 'x',
        template: 'asteroid',
        params: { gamma: -1 },
      })[0]!,
      /^params\.gamma: /,
    );
  });

  it('the asteroid template validates and wires the bias weights into pretraining', () => {
    const spec = validateSpec({
      apiVersion: 'trellis/v1',
      kind: 'Pipeline',
      name: 'a',
      template: 'asteroid',
    }) as PipelineSpec;
    assert.deepEqual(
      spec.stages.map((s) => s.name),
      ['teacher', 'bias', 'pretrain', 'finetune', 'baseline', 'uniform-pretrain', 'uniform-finetune'],
    );
    const pretrain = spec.stages.find((s) => s.name === 'pretrain')!;
    assert.equal((pretrain.params.options as { weights: string }).weights, '${stages.bias.outputs.weights}');
    const score = validateSpec({
      apiVersion: 'trellis/v1',
      kind: 'Pipeline',
      name: 'a',
      template: 'asteroid',
      params: { pretrainLoss: 'score-matching' },
    }) as PipelineSpec;
    assert.equal(
      score.stages.some((s) => s.name === 'bias'),
      false,
    );
  });
});

describe('references and hashing', () => {
  const results = (name: string) =>
    name === 'a'
      ? {
          outputs: { value: 3, list: [1, 2] },
          metrics: { acc: 0.9 },
          best: { params: { lr: 0.01 }, value: 0.9, metric: 'acc', trialId: 't' },
        }
      : undefined;

  it('substitutes whole-string references by value and embedded ones by text', () => {
    assert.deepEqual(
      substitute(
        {
          x: '${stages.a.outputs.value}',
          y: 'lr=${stages.a.best.params.lr}',
          z: ['${stages.a.outputs.list}'],
          m: '${stages.a.metrics.acc}',
        },
        results,
      ),
      { x: 3, y: 'lr=0.01', z: [[1, 2]], m: 0.9 },
    );
  });

  it('names a reference that resolves to nothing', () => {
    assert.throws(
      () => substitute('${stages.a.outputs.missing}', results),
      /\$\{stages\.a\.outputs\.missing\}: stage a produced no such value/,
    );
  });

  it('finds no cycle in a DAG', () => {
    assert.equal(
      findCycle([
        { name: 'a', needs: [] },
        { name: 'b', needs: ['a'] },
      ] as never),
      undefined,
    );
  });

  it('hashes objects independently of key order', () => {
    const a = stableStringify({ b: 1, a: [{ d: 2, c: 3 }] });
    assert.equal(a, stableStringify({ a: [{ c: 3, d: 2 }], b: 1 }));
    // The canonical form itself (JSON with keys sorted at every depth, arrays kept in order), so a
    // constant or lossy function cannot pass:
    assert.equal(a, '{"a":[{"c":3,"d":2}],"b":1}');
    assert.notEqual(a, stableStringify({ b: 1, a: [{ d: 2, c: 4 }] }), 'a changed value changes the string');
    assert.notEqual(stableStringify([1, 2]), stableStringify([2, 1]), 'array order matters');
  });
});
