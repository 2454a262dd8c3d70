/**
 * The API's published contracts: proto lint and breaking-change check, the JSON Schemas in
 * schemas/ being what the code generates, Struct conversion, subject tokens, watch start.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { projectRoot } from '../../shared/paths.js';
import { fromStruct, toStruct } from '../../shared/struct.js';
import { subjectOf, subjectToken } from '../../shared/events.js';
import { watchStart } from '../../coordinator/server.js';
import { neverFitsReason, type WorkerCapacity } from '../../coordinator/dispatch/slots.js';
import { parseMaxAge, parseMaxBytes } from '../../coordinator/bus/registry.js';
import { jsonSchemas } from '../../shared/json-schemas.js';
import { pipelineSpecSchema } from '../../coordinator/pipelines/spec.js';
import { InvalidArgumentError } from '../../shared/errors.js';

describe('API contracts', () => {
  it('proto/ passes buf lint and the breaking-change checks, and the served descriptor set is fresh', async () => {
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        'bash',
        [join(projectRoot(), 'scripts', 'lint-proto.sh')],
        { timeout: 120_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stdout}${stderr}`)) : resolve(stdout)),
      ),
    );
    assert.match(output, /lint-proto: buf lint, breaking .* ok/);
  });

  it('schemas/*.json are what the zod schemas generate (run npm run schemas after changing them)', () => {
    for (const [name, schema] of Object.entries(jsonSchemas(pipelineSpecSchema))) {
      const committed = JSON.parse(readFileSync(join(projectRoot(), 'schemas', name), 'utf8')) as unknown;
      assert.deepEqual(committed, schema, `schemas/${name} is stale`);
    }
  });

  it('JSON values survive a Struct round trip (non-finite numbers become null, as in JSON)', () => {
    const json = fc.jsonValue({ noUnicodeString: false }).filter((v) => v !== null);
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json), (object) => {
        // Compared as JSON text: the wire is JSON's data model (-0 prints as 0, as in JSON).
        assert.equal(JSON.stringify(fromStruct(toStruct(object))), JSON.stringify(object));
      }),
    );
    // A key named __proto__ is data, kept as an own property (fast-check found it losing its value).
    const proto = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    assert.equal(JSON.stringify(fromStruct(toStruct(proto))), '{"__proto__":{"x":1}}');
    assert.deepEqual(fromStruct(toStruct({ a: Number.NaN, b: [1, Number.POSITIVE_INFINITY] })), {
      a: null,
      b: [1, null],
    });
  });

  it('subject tokens: any worker id is exactly one token, distinct ids stay distinct', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const token = subjectToken(a);
        assert.match(token, /^[A-Za-z0-9_%-]+$/);
        if (a !== b) assert.notEqual(token, subjectToken(b));
      }),
    );
    const subject = subjectOf({
      seq: 0,
      type: 'worker.state',
      time: 1,
      workerId: 'gpu-1.lab.example.com',
      payload: { status: 'connected' },
    });
    assert.equal(subject, 'trellis.v1.worker.gpu-1%2Elab%2Eexample%2Ecom.state');
    assert.equal(subject.split('.').length, 5, 'trellis.v1.worker.<one token>.state');
    assert.equal(subjectToken(''), '%');
  });

  it('WatchEvents starts at the first event unless told otherwise', () => {
    assert.equal(watchStart({}), 1, 'default: from the start');
    assert.equal(watchStart({ from_seq: '0' }), 1);
    assert.equal(watchStart({ from_start: true }), 1);
    assert.equal(watchStart({ from_seq: '42' }), 42);
    assert.equal(watchStart({ live_only: true }), 0);
    assert.throws(() => watchStart({ live_only: true, from_seq: '3' }), InvalidArgumentError);
    assert.throws(() => watchStart({ from_seq: '-1' }), /from_seq/);
  });

  it('pending reasons name what no connected worker has', () => {
    const worker = (id: string, over: Partial<WorkerCapacity> = {}): WorkerCapacity => ({
      id,
      cpus: 4,
      gpus: [],
      memoryBytes: 0,
      labels: {},
      runtimes: ['tfjs', 'command'],
      usedCpus: 0,
      usedGpus: new Set(),
      usedMemoryBytes: 0,
      running: 0,
      accepting: true,
      ...over,
    });
    const request = { cpus: 1, gpus: 1, memoryBytes: 0, runtime: 'command', labels: {} };
    assert.equal(neverFitsReason([], request), undefined, 'no worker: nothing to judge by');
    assert.match(neverFitsReason([worker('a'), worker('b')], request)!, /needs gpus 1 \(most on a worker: 0\)/);
    assert.equal(neverFitsReason([worker('a'), worker('g', { gpus: ['0'] })], request), undefined);
    assert.match(
      neverFitsReason([worker('a')], { ...request, gpus: 0, runtime: 'jax' })!,
      /runtime 'jax' \(workers offer: command, tfjs\)/,
    );
    assert.match(neverFitsReason([worker('a')], { ...request, gpus: 0, cpus: 8 })!, /cpus 8 \(most on a worker: 4\)/);
  });

  it('stream retention settings parse or fail naming the variable', () => {
    assert.equal(parseMaxAge('7d'), 7 * 86_400_000);
    assert.equal(parseMaxAge('90'), 90_000);
    assert.equal(parseMaxAge('0'), 0);
    assert.throws(() => parseMaxAge('a week'), /TRELLIS_EVENTS_MAX_AGE/);
    assert.equal(parseMaxBytes('512Mi'), 512 * 2 ** 20);
    assert.equal(parseMaxBytes('-1'), -1);
    assert.throws(() => parseMaxBytes('1.5G'), /TRELLIS_EVENTS_MAX_BYTES/);
  });
});
