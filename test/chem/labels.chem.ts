/**
 * The PySCF labelling stages (chem/trellis_chem.py via the `command` runtime, as the
 * `chem-labels` template runs them) on a handful of ethanol geometries: labels match PySCF
 * recomputed independently, shards split the work, and a re-run recomputes nothing.
 *
 * Needs Python 3 with PySCF: `before` runs scripts/setup-chem.sh (a venv at .venv-chem, PyPI);
 * when that fails the suite fails, it is not skipped. Not part of `npm test` (the `.chem.js`
 * suffix keeps it out): it runs quantum chemistry for 1–5 minutes on a loaded 2-core machine,
 * so it has its own script, `npm run test:chem`.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandRuntime } from '../../worker/runtimes/command/runtime.js';
import { localContext } from '../../worker/tasks/mlff/arms.js';
import { loadChemDataset } from '../../worker/tasks/mlff/chem-data.js';
import { trialSchema } from '../../shared/spec/schema.js';
import { chemLabelStages } from '../../coordinator/pipelines/templates/chem-labels.js';
import { validatePipeline } from '../../coordinator/experiments/validate.js';
import type { RunResult } from '../../worker/runtimes/base.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const python = join(root, '.venv-chem', 'bin', 'python');
const cache = mkdtempSync(join(tmpdir(), 'trellis-chem-'));
const out = join(cache, 'dataset.json.gz');
const stages = chemLabelStages({
  molecule: 'ethanol',
  cheapFrames: 3,
  accurateFrames: 1,
  temperature: 500,
  sampleSeed: 3,
  shards: 2,
  python,
  cache,
  out,
});
const byName = new Map(stages.map((s) => [s.name as string, s]));

/** Runs one stage's trial (sweep stages: one shard) like a worker would; `${stages...}` already resolved. */
async function runStage(
  name: string,
  geometries: string | undefined,
  shard?: number,
): Promise<{ result: RunResult; reports: { step: number; metrics: Record<string, number> }[] }> {
  const stage = byName.get(name)!;
  const sweep = stage.sweep as { trial: Record<string, unknown> } | undefined;
  const trial = sweep
    ? sweep.trial
    : { runtime: 'command', command: stage.command, ...(stage.params as Record<string, unknown>) };
  const env = { ...(trial.env as Record<string, string>) };
  if (geometries) env.TRELLIS_CHEM_GEOMETRIES = geometries;
  const { ctx, reports } = localContext(name, {}, 1);
  const config = trialSchema.parse({ ...trial, env });
  const result = await commandRuntime.run({ ...ctx, config, params: shard === undefined ? {} : { shard } });
  return { result, reports };
}

/** One part of a label stage's `labelsN` outputs (chem/trellis_chem.py labels_part). */
interface LabelsPart {
  level: string;
  indices: number[];
  hashes: string[];
  energies: number[];
  provenance: { method: string; seededFrom?: unknown }[];
  provenanceOf: number[];
}

function pyscf(script: string): unknown {
  const r = spawnSync(python, ['-c', script], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  assert.equal(r.status, 0, `independent PySCF run failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

describe('chem labelling stages (PySCF)', () => {
  let geometries = '';

  before(() => {
    assert.ok(existsSync(join(root, 'chem', 'trellis_chem.py')), `run the tests from the repository root (${root})`);
    const setup = spawnSync(join(root, 'scripts', 'setup-chem.sh'), { encoding: 'utf8', timeout: 600_000 });
    assert.equal(setup.status, 0, `scripts/setup-chem.sh failed (Python 3 and PyPI are needed): ${setup.stderr}`);
  });

  it('the template expands to sample, two label sweeps over the shards and assemble, and validates', () => {
    assert.deepEqual(
      stages.map((s) => s.name),
      ['sample', 'label-cheap', 'label-accurate', 'assemble'],
    );
    for (const level of ['cheap', 'accurate']) {
      const sweep = byName.get(`label-${level}`)!.sweep as { budget: { trials: number }; search: unknown };
      assert.equal(sweep.budget.trials, 2);
    }
    const spec = validatePipeline({
      apiVersion: 'trellis/v1',
      kind: 'Pipeline',
      name: 'labels',
      template: 'chem-labels',
      params: { shards: 3 },
    });
    assert.equal(spec.stages.length, 4);
    assert.throws(
      () =>
        validatePipeline({
          apiVersion: 'trellis/v1',
          kind: 'Pipeline',
          name: 'x',
          template: 'chem-labels',
          params: { shards: 0 },
        }),
      /params\.shards/,
    );
  });

  it('labels match PySCF recomputed independently, shards split the work, and a re-run recomputes nothing', async () => {
    const sample = await runStage('sample', undefined);
    geometries = (sample.result.info.outputs as { geometries: string }).geometries;
    assert.ok(existsSync(geometries));
    // Two shards at once, as two workers would run them.
    const cheap = await Promise.all([runStage('label-cheap', geometries, 0), runStage('label-cheap', geometries, 1)]);
    assert.deepEqual(
      cheap.map((c) => c.result.metrics.computed),
      [2, 1],
    );
    const accurate = await runStage('label-accurate', geometries, 0);
    assert.equal(accurate.result.metrics.computed, 1);
    await runStage('label-accurate', geometries, 1); // the empty shard of one accurate frame
    const assembled = await runStage('assemble', geometries);
    assert.equal((assembled.result.info.outputs as { dataset: string }).dataset, out);

    const d = loadChemDataset(out);
    assert.deepEqual(d.atomicNumbers, [6, 6, 8, 1, 1, 1, 1, 1, 1]);
    assert.equal(d.levels.cheap.frames, 3);
    assert.equal(d.levels.accurate.frames, 1);
    assert.equal(d.levels.accurate.method, 'MP2');
    assert.equal(d.levels.accurate.basis, 'cc-pvdz');
    assert.match(d.levels.accurate.version, /^\d+\.\d+/);
    assert.equal(d.levels.cheap.hashes.length, 3);

    // Independent PySCF: absolute energies (hartree) and gradients (hartree/bohr) of frames
    // cheap[0], cheap[2] and accurate[0], converted here with CODATA constants.
    const check = (level: 'cheap' | 'accurate', i: number): void => {
      const l = d.levels[level];
      const atoms = d.species.map((s, a) => [s, l.positions[i]![a]!]);
      const code =
        level === 'cheap'
          ? 'm=scf.RHF(mol).run(conv_tol=1e-10); e=m.e_tot; g=m.nuc_grad_method().kernel()'
          : 'm=scf.RHF(mol).run(conv_tol=1e-10); p=mp.MP2(m).run(); e=p.e_tot; g=p.nuc_grad_method().kernel()';
      const [e, g] = pyscf(
        `import json; from pyscf import gto, scf, mp; mol=gto.M(atom=${JSON.stringify(atoms)}, basis='${l.basis}', unit='Angstrom', verbose=0); ${code}; print(json.dumps([e, g.tolist()]))`,
      ) as [number, number[][]];
      const hartreeKcal = 627.509474;
      const bohr = 0.529177210903;
      const energy =
        l.energies[i]! / hartreeKcal + (l as unknown as { referenceEnergyHartree: number }).referenceEnergyHartree;
      assert.ok(Math.abs(energy - e) < 1e-6, `${level}[${i}] energy ${energy} vs PySCF ${e}`);
      g.forEach((row, a) =>
        row.forEach((v, k) => {
          const f = (-v * hartreeKcal) / bohr;
          assert.ok(
            Math.abs(l.forces[i]![a]![k]! - f) < 2e-3,
            `${level}[${i}] force ${a},${k}: ${l.forces[i]![a]![k]} vs ${f}`,
          );
        }),
      );
    };
    check('cheap', 0);
    check('cheap', 2);
    check('accurate', 0);

    // Re-run: every label comes from the cache (files untouched), values identical.
    const labelFiles = JSON.stringify(
      d.levels.cheap.hashes.map(
        (h) => statSync(join(cache, 'labels', 'hf_sto-3g', h.slice(0, 2), `${h}.json`)).mtimeMs,
      ),
    );
    const again = await Promise.all([runStage('label-cheap', geometries, 0), runStage('label-cheap', geometries, 1)]);
    assert.deepEqual(
      again.map((c) => [c.result.metrics.computed, c.result.metrics.cached]),
      [
        [0, 2],
        [0, 1],
      ],
    );
    const mtimes = JSON.stringify(
      d.levels.cheap.hashes.map(
        (h) => statSync(join(cache, 'labels', 'hf_sto-3g', h.slice(0, 2), `${h}.json`)).mtimeMs,
      ),
    );
    assert.equal(mtimes, labelFiles);
    const before = readFileSync(out);
    await runStage('assemble', geometries);
    assert.deepEqual(loadChemDataset(out).levels, d.levels);
    assert.ok(before.length > 0);

    // The labels are the label stage's outputs too (what reaches the store with the trial):
    // shard 0 has geometries 0 and 2, shard 1 geometry 1, each with the cached values.
    const parts = again.map((c) => (c.result.info.outputs as Record<string, LabelsPart>).labels0!);
    assert.deepEqual(
      parts.map((p) => p.indices),
      [[0, 2], [1]],
    );
    for (const p of parts) {
      assert.equal(p.level, 'hf/sto-3g');
      p.indices.forEach((i, k) => {
        const cached = JSON.parse(
          readFileSync(join(cache, 'labels', 'hf_sto-3g', p.hashes[k]!.slice(0, 2), `${p.hashes[k]}.json`), 'utf8'),
        ) as { energy_hartree: number };
        assert.equal(p.hashes[k], d.levels.cheap.hashes[i]);
        assert.equal(p.energies[k], cached.energy_hartree);
        assert.equal(p.provenance[p.provenanceOf[k]!]!.method, 'HF');
      });
    }
  });

  it('seed-cache writes the labels of a data set into a fresh cache (hashes verified), so labelling recomputes nothing', () => {
    assert.ok(geometries, 'needs the data set of the test above');
    const fresh = mkdtempSync(join(tmpdir(), 'trellis-chem-seed-'));
    const program = (cacheDir: string, ...args: string[]) =>
      spawnSync(python, [join(root, 'chem', 'trellis_chem.py'), '--cache', cacheDir, ...args], {
        encoding: 'utf8',
        env: { ...process.env, OMP_NUM_THREADS: '1' },
      });
    const seeded = program(fresh, 'seed-cache', '--from', out, '--geometries', geometries);
    assert.equal(seeded.status, 0, seeded.stderr);
    assert.match(seeded.stdout, /"cheap_seeded": 3, "cheap_present": 0, "accurate_seeded": 1/);
    // Labelling the same geometries in the seeded cache computes nothing and yields the data set's values.
    const labelled = program(fresh, 'label', '--geometries', geometries, '--level', 'cheap', '--count', '3');
    assert.equal(labelled.status, 0, labelled.stderr);
    assert.match(labelled.stdout, /"computed": 0, "cached": 3/);
    const d = loadChemDataset(out);
    const part = (
      JSON.parse(
        labelled.stdout
          .trim()
          .split('\n')
          .find((l) => l.includes('"labels0"'))!,
      ) as {
        outputs: { labels0: LabelsPart };
      }
    ).outputs.labels0;
    const ref = (d.levels.cheap as unknown as { referenceEnergyHartree: number }).referenceEnergyHartree;
    part.energies.forEach((e, k) =>
      assert.ok(Math.abs((e - ref) * 627.509474 - d.levels.cheap.energies[k]!) < 1e-6, `energy ${k}`),
    );
    assert.ok(part.provenance[0]!.seededFrom, 'a seeded label says so in its provenance');
    // Seeding again overwrites nothing.
    const again = program(fresh, 'seed-cache', '--from', out, '--geometries', geometries);
    assert.match(again.stdout, /"cheap_seeded": 0, "cheap_present": 3/);
    // A geometries file whose frames 0 and 1 are swapped is refused, naming the frame.
    const geo = JSON.parse(readFileSync(geometries, 'utf8')) as { positions: unknown[]; hashes: string[] };
    [geo.positions[0], geo.positions[1]] = [geo.positions[1], geo.positions[0]];
    [geo.hashes[0], geo.hashes[1]] = [geo.hashes[1]!, geo.hashes[0]!];
    const swapped = join(fresh, 'swapped.json');
    writeFileSync(swapped, JSON.stringify(geo));
    const empty = () => mkdtempSync(join(tmpdir(), 'trellis-chem-seed-'));
    const refused = program(empty(), 'seed-cache', '--from', out, '--geometries', swapped);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /cheap frame 0: geometry 0 of .* is not the data set's/);
    // A data set whose positions no longer match their hashes is refused.
    const raw = JSON.parse(gunzipSync(readFileSync(out)).toString('utf8')) as {
      levels: { accurate: { positions: number[][][] } };
    };
    raw.levels.accurate.positions[0]![0]![0]! += 0.001;
    const edited = join(fresh, 'edited.json.gz');
    writeFileSync(edited, gzipSync(JSON.stringify(raw)));
    const tampered = program(empty(), 'seed-cache', '--from', edited);
    assert.equal(tampered.status, 2);
    assert.match(tampered.stderr, /accurate frame 0 \(geometry \d+\): stored hash \w+ does not match its positions/);
  });
});
