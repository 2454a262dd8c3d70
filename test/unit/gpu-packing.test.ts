import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GpuPacking, MARGIN, OOM_GROWTH, PAD, familyKey, shareOf } from '../../coordinator/sweeps/gpu-packing.js';
import { sweepSpecSchema } from '../../shared/spec/schema.js';
import { resourceIssues } from '../../coordinator/experiments/limits.js';
import { DEFAULT_LIMITS } from '../../shared/limits.js';
import { parseEnv } from '../../shared/env.js';
import type { AttemptDoc } from '../../shared/types.js';
import type { GpuProbe } from '../../worker/gpus/base.js';
import { fakeProbe } from '../../worker/gpus/fake.js';
import { nvidiaSmiProbe, parseGpuLines, parseProcessLines } from '../../worker/gpus/nvidia-smi.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

function spec(resources: Record<string, unknown>, retry?: Record<string, unknown>) {
  return sweepSpecSchema.parse({
    apiVersion: 'trellis/v1',
    kind: 'Sweep',
    name: 's',
    trial: { runtime: 'command', command: ['x'], objective: { metric: 'm', mode: 'max' } },
    resources,
    ...(retry ? { budget: { retry } } : {}),
  });
}
const base = { cpus: 1, gpus: 1, memoryBytes: 0, runtime: 'command', labels: {} };
const attempt = (id: string, gpuIds = ['0']): AttemptDoc =>
  ({ n: 1, id, workerId: 'w', gpuIds, status: 'running', startedAt: 0, leaseExpiresAt: 1 }) as AttemptDoc;

describe('resources.gpuMemory in the spec', () => {
  it('accepts sizes and refuses bad ones with the field named', () => {
    assert.equal(spec({ gpuMemory: '6Gi' }).resources.gpuMemory, '6Gi');
    assert.throws(() => spec({ gpuMemory: 'six' }), /gpuMemory[\s\S]*must be bytes or a size like 512Mi, 6Gi/);
    assert.throws(() => spec({ gpuMemory: 0 }), /gpuMemory[\s\S]*at least 1 byte/);
    assert.throws(() => spec({ gpuPacking: 'maybe' }), /gpuPacking[\s\S]*must be measure or off/);
    assert.deepEqual(resourceIssues(spec({ gpuMemory: '5Ti' }).resources, DEFAULT_LIMITS), [
      'resources.gpuMemory: "5Ti" (5497558138880 bytes) must be from 1 byte to the limit maxGpuMemoryBytes = 4398046511104',
    ]);
  });
});

describe('GPU memory per configuration family', () => {
  it('keys families by model/batch-like params by default, or by resources.gpuFamily', () => {
    assert.equal(familyKey({ batchSize: 32, lr: 0.1 }, undefined), familyKey({ batchSize: 32, lr: 0.5 }, undefined));
    assert.notEqual(familyKey({ batchSize: 32 }, undefined), familyKey({ batchSize: 64 }, undefined));
    assert.notEqual(familyKey({ lr: 0.1 }, ['lr']), familyKey({ lr: 0.5 }, ['lr']));
  });

  it('runs whole GPUs until a success is measured, then asks for the peak with the margin', () => {
    const packing = new GpuPacking(spec({ gpus: 1 }), base, 'e');
    assert.equal(packing.requestFor(0, { batchSize: 32 }).gpuMemoryBytes, undefined);
    packing.onPlaced(attempt('a1'), 0, { batchSize: 32 }, packing.requestFor(0, { batchSize: 32 }), 16 * GiB);
    packing.peak('a1', 2 * GiB);
    assert.match(packing.ended('a1', true, undefined, false) ?? '', /later attempts ask for/);
    const share = packing.requestFor(1, { batchSize: 32, lr: 1 }).gpuMemoryBytes;
    assert.equal(share, Math.ceil(2 * GiB * (1 + MARGIN) + PAD));
    assert.equal(share, shareOf(2 * GiB));
    assert.equal(packing.requestFor(2, { batchSize: 64 }).gpuMemoryBytes, undefined, 'another family is unknown');
    assert.equal(packing.requestFor(2, { batchSize: 32 }).group, 'e');
  });

  it('an oom under packing grows the family share, up to whole GPUs', () => {
    const packing = new GpuPacking(spec({ gpus: 1 }), base, 'e');
    const p = { batchSize: 8 };
    packing.onPlaced(attempt('a1'), 0, p, packing.requestFor(0, p), 16 * GiB);
    packing.peak('a1', 4 * GiB);
    packing.ended('a1', true, undefined, false);
    const first = packing.requestFor(1, p).gpuMemoryBytes!;
    packing.onPlaced(attempt('a2'), 1, p, packing.requestFor(1, p), 16 * GiB);
    assert.match(packing.ended('a2', false, 'oom', false) ?? '', /oom under packing/);
    const grown = packing.requestFor(1, p).gpuMemoryBytes!;
    assert.equal(grown, Math.ceil(first * OOM_GROWTH));
    // 4.9 GiB → 7.35 → 11.0 → 16.5 >= 16 GiB: whole GPUs from the third oom on.
    for (const id of ['a3', 'a4']) {
      packing.onPlaced(attempt(id), 1, p, packing.requestFor(1, p), 16 * GiB);
      packing.ended(id, false, 'oom', false);
    }
    assert.equal(packing.requestFor(1, p).gpuMemoryBytes, undefined);
  });

  it('then: more gpu memory grows a declared share for the trial that oom-ed only', () => {
    const packing = new GpuPacking(
      spec({ gpuMemory: '4Gi' }, { oom: { then: 'more gpu memory' } }),
      { ...base, gpus: 0 },
      'e',
    );
    packing.onPlaced(attempt('a1'), 3, {}, packing.requestFor(3, {}), 16 * GiB);
    packing.ended('a1', false, 'oom', true);
    assert.equal(packing.requestFor(3, {}).gpuMemoryBytes, 6 * GiB);
    assert.equal(packing.requestFor(4, {}).gpuMemoryBytes, 4 * GiB);
    assert.throws(() => spec({}, { oom: { then: 'more memory' } }), /more gpu memory.*halve PARAM/);
  });
});

/** What every GPU probe must do (conformance). */
async function conforms(probe: GpuProbe): Promise<void> {
  const gpus = await probe.inventory();
  for (const g of gpus) {
    assert.match(g.id, /^\d+$/);
    assert.ok(g.totalBytes > 0 && g.usedBytes >= 0 && g.name.length > 0);
  }
  const procs = await probe.processes();
  for (const [pid, bytes] of procs) assert.ok(Number.isInteger(pid) && pid > 0 && bytes >= 0);
}

describe('GPU probes', () => {
  it('nvidia-smi: parses its CSV, and answers (maybe empty) without throwing here', async () => {
    assert.deepEqual(parseGpuLines('0, NVIDIA H100, 81559, 1024\n1, NVIDIA H100, 81559, 0\nbad line\n'), [
      { id: '0', name: 'NVIDIA H100', totalBytes: 81559 * MiB, usedBytes: 1024 * MiB },
      { id: '1', name: 'NVIDIA H100', totalBytes: 81559 * MiB, usedBytes: 0 },
    ]);
    assert.deepEqual([...parseProcessLines('123, 500\n123, 100\n456, [N/A]\n')], [[123, 600 * MiB]]);
    await conforms(nvidiaSmiProbe);
  });

  it('fake (test-only): the listed GPUs, plus what live test programs declare', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-gpus-'));
    try {
      const parsed = parseEnv({ TRELLIS_FAKE_GPUS: '[{"total":"16Gi"},{"total":"16Gi","used":"1Gi"}]' });
      const probe = fakeProbe(parsed.TRELLIS_FAKE_GPUS!, dir);
      writeFileSync(join(dir, String(process.pid)), `1 ${2 * GiB}`);
      writeFileSync(join(dir, '999999999'), `0 ${GiB}`); // no such process: not counted
      await conforms(probe);
      assert.deepEqual(
        (await probe.inventory()).map((g) => [g.id, g.totalBytes, g.usedBytes]),
        [
          ['0', 16 * GiB, 0],
          ['1', 16 * GiB, 3 * GiB],
        ],
      );
      assert.deepEqual([...(await probe.processes())], [[process.pid, 2 * GiB]]);
      assert.throws(() => parseEnv({ TRELLIS_FAKE_GPUS: '[{"total":"lots"}]' }), /TRELLIS_FAKE_GPUS/);
      assert.throws(() => parseEnv({ TRELLIS_FAKE_GPUS: 'not json' }), /TRELLIS_FAKE_GPUS: must be JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
