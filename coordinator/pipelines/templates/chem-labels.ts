/**
 * `chem-labels`: quantum-chemistry labels computed across the worker pool (issue 17).
 *
 *   sample          one command trial: HF/STO-3G minimum + harmonic normal-mode sampling at T
 *   label-cheap     a grid sweep over `shards` shards: HF/STO-3G energies and forces
 *   label-accurate  a grid sweep over `shards` shards: MP2/cc-pVDZ energies and forces
 *   assemble        one command trial: the data set file (gzip'd JSON with provenance)
 *
 * All four run `chem/trellis_chem.py` (PySCF) through the `command` runtime; N workers label N
 * shards at once. Labels are cached on disk by (level, geometry hash) under `cache`, so a re-run
 * recomputes nothing (the stage cache of the pipeline may also serve whole stages). `cache` must
 * be a directory every worker can read and write (the embedded default: the local disk).
 * The same stages are prepended to `asteroid` with `labels: compute`.
 */
import { z } from 'zod';
import { parseParams, type PipelineTemplate } from './base.js';

export const chemLabelsParamsShape = {
  molecule: z.enum(['ethanol']).default('ethanol'),
  cheapFrames: z.number().int().positive().max(50000).default(2000),
  accurateFrames: z.number().int().positive().max(10000).default(300),
  temperature: z.number().positive().default(500),
  /** Seed of the geometry sampling. */
  sampleSeed: z.number().int().min(0).default(0),
  shards: z.number().int().min(1).max(256).default(2),
  /** Python with PySCF (scripts/setup-chem.sh makes .venv-chem). */
  python: z.string().min(1).default('.venv-chem/bin/python'),
  cache: z.string().min(1).default('.trellis/chem-cache'),
  /** Where `assemble` writes the data set. */
  out: z.string().min(1).default('.trellis/chem-data/dataset.json.gz'),
};

export type ChemLabelsParams = z.output<z.ZodObject<typeof chemLabelsParamsShape>>;

/** The four labelling stages; the data set path is `${stages.assemble.outputs.dataset}`. */
export function chemLabelStages(p: ChemLabelsParams): Record<string, unknown>[] {
  const program = [p.python, 'chem/trellis_chem.py', '--cache', p.cache];
  const env = { OMP_NUM_THREADS: '1' };
  // The geometries path reaches the program through the environment: a `${stages...}` reference
  // inside a command list would hide the whole list from validation until the stage runs.
  const withGeometries = { ...env, TRELLIS_CHEM_GEOMETRIES: '${stages.sample.outputs.geometries}' };
  const shards = Array.from({ length: p.shards }, (_, i) => i);
  const labelSweep = (level: 'cheap' | 'accurate'): Record<string, unknown> => ({
    name: `label-${level}`,
    needs: ['sample'],
    sweep: {
      trial: {
        runtime: 'command',
        command: [
          ...program,
          'label',
          '--level',
          level,
          '--offset',
          String(level === 'cheap' ? 0 : p.cheapFrames),
          '--count',
          String(level === 'cheap' ? p.cheapFrames : p.accurateFrames),
          '--shard',
          '${params.shard}',
          '--shards',
          String(p.shards),
        ],
        env: withGeometries,
        epochs: 1,
        checkpointEvery: 0,
        objective: { metric: 'labelled', mode: 'max' },
      },
      search: { algorithm: 'grid', seed: 0, space: { shard: { choice: shards } } },
      budget: { trials: p.shards, concurrency: p.shards },
    },
  });
  return [
    {
      name: 'sample',
      command: [
        ...program,
        'sample',
        '--molecule',
        p.molecule,
        '--frames',
        String(p.cheapFrames + p.accurateFrames),
        '--temperature',
        String(p.temperature),
        '--seed',
        String(p.sampleSeed),
      ],
      params: { env, checkpointEvery: 0, epochs: 1 },
    },
    labelSweep('cheap'),
    labelSweep('accurate'),
    {
      name: 'assemble',
      needs: ['sample', 'label-cheap', 'label-accurate'],
      command: [
        ...program,
        'assemble',
        '--cheap',
        String(p.cheapFrames),
        '--accurate',
        String(p.accurateFrames),
        '--out',
        p.out,
      ],
      params: { env: withGeometries, checkpointEvery: 0, epochs: 1 },
    },
  ];
}

export const chemLabelsTemplate: PipelineTemplate = {
  name: 'chem-labels',
  description:
    'PySCF labels across the worker pool: sample geometries → HF/STO-3G and MP2/cc-pVDZ label sweeps over shards (cached by geometry hash) → data set',
  expand(raw) {
    return chemLabelStages(parseParams(z.strictObject(chemLabelsParamsShape), raw));
  },
};
