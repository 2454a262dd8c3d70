#!/usr/bin/env python3
"""Quantum-chemistry labelling programs for the ASTEROID template (run by the `command` runtime).

Subcommands (each prints JSON lines the command runtime reads: metrics, then {"outputs": {...}}):

  sample    Geometries of a molecule at temperature T: the HF/STO-3G minimum (BFGS from a
            reference geometry), then harmonic normal-mode sampling on that (cheap) surface
            (classical Boltzmann amplitudes sqrt(kT/lambda_k) along the eigenvectors of the
            projected Cartesian Hessian, Gaussian draws truncated at 2.5 sigma), seeded. Writes
            <cache>/geometries/<hash>.json; outputs {geometries, geometriesHash, frames}.
  label     Energies and forces of one shard of a geometries file at one level of theory
            (`cheap` = HF/STO-3G, `accurate` = MP2/cc-pVDZ). Labels are cached one file per
            (method, geometry hash) under <cache>/labels/, so a re-run recomputes nothing.
  seed-cache  Writes the labels held in a data set back into the label cache (each geometry hash
            verified against its positions, and against a geometries file when one is given), so
            the labels of a shipped data set are never recomputed.
  assemble  Reads the geometries and both levels' labels from the cache and writes the data set
            (gzip'd JSON, see chem/README.md) with provenance; outputs {dataset, sha256}.

Units written: positions in Angstrom, energies in kcal/mol relative to the level's energy at the
sampling reference geometry (the HF/STO-3G minimum), forces in kcal/(mol*Angstrom).
"""
import argparse
import gzip
import hashlib
import json
import os
import sys
import time

HARTREE_KCAL = 627.509474  # kcal/mol per hartree
BOHR_ANG = 0.529177210903  # Angstrom per bohr
K_B_HARTREE = 3.166811563e-6  # hartree per kelvin

# Reference geometries (Angstrom). Ethanol: trans conformer, atom order C C O H(O) H H H H H.
MOLECULES = {
    'ethanol': [
        ('C', (1.1879, -0.3829, 0.0)),
        ('C', (0.0, 0.5526, 0.0)),
        ('O', (-1.1867, -0.2472, 0.0)),
        ('H', (-1.9237, 0.3850, 0.0)),
        ('H', (2.0985, 0.2306, 0.0)),
        ('H', (1.1184, -1.0093, 0.8869)),
        ('H', (1.1184, -1.0093, -0.8869)),
        ('H', (0.0227, 1.1812, 0.8852)),
        ('H', (0.0227, 1.1812, -0.8852)),
    ],
}
ATOMIC_NUMBER = {'H': 1, 'C': 6, 'N': 7, 'O': 8}

# Levels of theory: the method id is part of every label's cache key.
LEVELS = {
    'cheap': {'id': 'hf/sto-3g', 'method': 'HF', 'basis': 'sto-3g'},
    'accurate': {'id': 'mp2/cc-pvdz', 'method': 'MP2', 'basis': 'cc-pvdz'},
}


def emit(obj):
    print(json.dumps(obj), flush=True)


def fail(msg):
    print(f'trellis_chem: {msg}', file=sys.stderr)
    sys.exit(2)


def geometry_hash(species, positions):
    """sha256 over the element symbols and the positions written with 6 decimals (as stored)."""
    text = ';'.join(s for s in species) + '|' + ';'.join(f'{x:.6f}' for row in positions for x in row)
    return hashlib.sha256(text.encode()).hexdigest()


def write_json_atomic(path, obj, compress=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp'
    data = json.dumps(obj, separators=(',', ':')).encode()
    with open(tmp, 'wb') as f:
        f.write(gzip.compress(data, 9, mtime=0) if compress else data)
    os.replace(tmp, path)


def read_json(path):
    with open(path, 'rb') as f:
        raw = f.read()
    if raw[:2] == b'\x1f\x8b':
        raw = gzip.decompress(raw)
    return json.loads(raw)


def make_mol(species, positions, basis):
    from pyscf import gto

    atom = [(s, tuple(p)) for s, p in zip(species, positions)]
    return gto.M(atom=atom, basis=basis, unit='Angstrom', verbose=0)


def compute(level, species, positions):
    """Energy (hartree) and gradient (hartree/bohr, [atoms][3]) at one level of theory."""
    from pyscf import scf, mp

    spec = LEVELS[level]
    mol = make_mol(species, positions, spec['basis'])
    mf = scf.RHF(mol)
    mf.conv_tol = 1e-10
    mf.kernel()
    if not mf.converged:
        raise RuntimeError('SCF did not converge')
    if spec['method'] == 'HF':
        grad = mf.nuc_grad_method().kernel()
        energy = mf.e_tot
    else:
        pt = mp.MP2(mf).run()
        grad = pt.nuc_grad_method().kernel()
        energy = pt.e_tot
    return float(energy), [[float(v) for v in row] for row in grad]


def provenance(level):
    import pyscf

    spec = LEVELS[level]
    return {'method': spec['method'], 'basis': spec['basis'], 'program': 'pyscf', 'version': pyscf.__version__}


# --------------------------------------------------------------------------------------------
# sample


def optimise(species, positions):
    """HF/STO-3G minimum by BFGS with analytic gradients."""
    import numpy as np
    from scipy.optimize import minimize

    def f(x):
        e, g = compute('cheap', species, x.reshape(-1, 3).tolist())
        return e, np.array(g).ravel() / BOHR_ANG  # hartree/Angstrom

    res = minimize(f, np.array(positions).ravel(), jac=True, method='BFGS', options={'gtol': 1e-5, 'maxiter': 200})
    return res.x.reshape(-1, 3)


def projected_hessian(species, x):
    """Cartesian HF/STO-3G Hessian (hartree/Angstrom^2) with translations and rotations projected out."""
    import numpy as np
    from pyscf import scf

    mol = make_mol(species, x.tolist(), 'sto-3g')
    mf = scf.RHF(mol)
    mf.conv_tol = 1e-11
    mf.kernel()
    n = len(species)
    h = mf.Hessian().kernel().transpose(0, 2, 1, 3).reshape(3 * n, 3 * n) / BOHR_ANG**2
    com = x.mean(axis=0)
    vecs = []
    for d in range(3):
        t = np.zeros((n, 3))
        t[:, d] = 1
        vecs.append(t.ravel())
    for d in range(3):
        axis = np.zeros(3)
        axis[d] = 1
        vecs.append(np.cross(axis, x - com).ravel())
    q, _ = np.linalg.qr(np.array(vecs).T)
    p = np.eye(3 * n) - q @ q.T
    return p @ h @ p


def cmd_sample(a):
    import numpy as np

    if a.molecule not in MOLECULES:
        fail(f'--molecule must be one of {", ".join(MOLECULES)}')
    if a.frames < 1 or a.frames > 100000:
        fail('--frames must be 1..100000')
    if not a.temperature > 0:
        fail('--temperature must be > 0')
    species = [s for s, _ in MOLECULES[a.molecule]]
    key = json.dumps({'molecule': a.molecule, 'frames': a.frames, 'temperature': a.temperature, 'seed': a.seed,
                      'method': 'normal-mode/hf/sto-3g', 'truncate': 2.5}, sort_keys=True)
    gh = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = os.path.join(a.cache, 'geometries', f'{a.molecule}-{gh}.json')
    t0 = time.time()
    if not os.path.exists(path):
        x0 = optimise(species, [list(p) for _, p in MOLECULES[a.molecule]])
        h = projected_hessian(species, x0)
        lam, vec = np.linalg.eigh(h)
        keep = lam > 1e-3  # hartree/A^2: the 3N-6 vibrations (translations/rotations are ~0)
        lam, vec = lam[keep], vec[:, keep]
        if len(lam) != 3 * len(species) - 6:
            fail(f'expected {3 * len(species) - 6} vibrational modes, found {len(lam)}')
        rng = np.random.default_rng(a.seed)
        kt = K_B_HARTREE * a.temperature
        sigma = np.sqrt(kt / lam)
        frames = []
        for _ in range(a.frames):
            z = rng.standard_normal(len(lam))
            while np.any(np.abs(z) > 2.5):  # truncated Gaussian: redraw the outliers
                bad = np.abs(z) > 2.5
                z[bad] = rng.standard_normal(int(bad.sum()))
            dx = vec @ (sigma * z)
            frames.append([[round(float(v), 6) for v in row] for row in (x0 + dx.reshape(-1, 3))])
        write_json_atomic(path, {
            'format': 'trellis-geometries/v1', 'molecule': a.molecule, 'species': species,
            'reference': [[round(float(v), 6) for v in row] for row in x0],
            'sampling': {'method': 'harmonic normal modes of HF/STO-3G at its minimum, Gaussian truncated at 2.5 sigma',
                         'temperature': a.temperature, 'seed': a.seed},
            'positions': frames,
            'hashes': [geometry_hash(species, p) for p in frames],
        })
    g = read_json(path)
    emit({'step': 1, 'frames': len(g['positions']), 'seconds': time.time() - t0})
    emit({'outputs': {'geometries': path, 'geometriesHash': gh, 'frames': len(g['positions'])}})


# --------------------------------------------------------------------------------------------
# label


def label_path(cache, level, h):
    return os.path.join(cache, 'labels', LEVELS[level]['id'].replace('/', '_'), h[:2], f'{h}.json')


def label_one(cache, level, species, positions, h):
    """Returns (label, computed?): from the cache when present, else computed and cached."""
    path = label_path(cache, level, h)
    if os.path.exists(path):
        lab = read_json(path)
        if lab.get('hash') == h and lab.get('level') == LEVELS[level]['id']:
            return lab, False
    e, g = compute(level, species, positions)
    lab = {'hash': h, 'level': LEVELS[level]['id'], 'energy_hartree': e, 'gradient_hartree_bohr': g,
           'provenance': provenance(level)}
    write_json_atomic(path, lab)
    return lab, True


def cmd_label(a):
    if a.level not in LEVELS:
        fail(f'--level must be one of {", ".join(LEVELS)}')
    if not (0 <= a.shard < a.shards):
        fail('--shard must be in 0..shards-1')
    g = read_json(a.geometries)
    n = len(g['positions']) if a.count is None else min(a.count, len(g['positions']))
    start = a.offset
    idx = [i for i in range(start, min(start + n, len(g['positions']))) if (i - start) % a.shards == a.shard]
    computed = cached = 0
    t0 = time.time()
    labels = []
    for k, i in enumerate(idx):
        h = geometry_hash(g['species'], g['positions'][i])
        if h != g['hashes'][i]:
            fail(f'geometry {i}: hash mismatch (file edited?)')
        lab, fresh = label_one(a.cache, a.level, g['species'], g['positions'][i], h)
        labels.append((i, lab))
        computed += fresh
        cached += not fresh
        emit({'step': k + 1, 'computed': computed, 'cached': cached, 'seconds': time.time() - t0})
    emit({'final': True, 'labelled': len(idx), 'computed': computed, 'cached': cached})
    # The labels themselves are stage outputs, so they reach the store with the trial that made
    # them (the worker turns an output over 64 KiB into an artifact): parts of LABELS_PER_PART,
    # each well under the command runtime's 1 MiB line, each with its provenance.
    geometries_sha = hashlib.sha256(json.dumps(g['hashes']).encode()).hexdigest()
    parts = [labels[j:j + LABELS_PER_PART] for j in range(0, len(labels), LABELS_PER_PART)]
    for n, part in enumerate(parts):
        emit({'outputs': {f'labels{n}': labels_part(a.level, geometries_sha, part)}})
    emit({'outputs': {'level': LEVELS[a.level]['id'], 'shard': a.shard, 'labelled': len(idx), 'computed': computed,
                      'labelParts': len(parts)}})


LABELS_PER_PART = 400  # ~0.7 kB per label as JSON: ~280 kB per output line


def labels_part(level, geometries_sha, part):
    """One output part: the labels of geometries `indices`, with their provenance."""
    provs = []
    for _, lab in part:
        if lab['provenance'] not in provs:
            provs.append(lab['provenance'])
    return {
        'format': 'trellis-labels/v1', 'level': LEVELS[level]['id'],
        'units': {'energy': 'hartree', 'gradient': 'hartree/bohr'},
        'geometries': geometries_sha,
        'indices': [i for i, _ in part],
        'hashes': [lab['hash'] for _, lab in part],
        'energies': [lab['energy_hartree'] for _, lab in part],
        'gradients': [lab['gradient_hartree_bohr'] for _, lab in part],
        # Distinct provenances, and each label's index into them (labels from the cache may
        # come from another PySCF version, or be seeded from a data set).
        'provenance': provs,
        'provenanceOf': [provs.index(lab['provenance']) for _, lab in part],
    }


# --------------------------------------------------------------------------------------------
# seed-cache

# The precision a data set stores its labels with (assemble rounds to these): a label seeded
# from a data set is that close to the computed one, and says so in its provenance.
SEEDED_PRECISION = {'energy_kcal_mol': 1e-6, 'force_kcal_mol_angstrom': 1e-4}


def cmd_seed_cache(a):
    d = read_json(a.from_)
    if d.get('format') != 'trellis-mlff-dataset/v1':
        fail(f'--from {a.from_}: format {d.get("format")!r} is not trellis-mlff-dataset/v1')
    species = d['species']
    geo = None
    if a.geometries:
        geo = read_json(a.geometries)
        if geo['species'] != species:
            fail(f'--geometries {a.geometries}: species {geo["species"]} differ from the data set\'s {species}')
    with open(a.from_, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    counts = {}
    for level, spec in LEVELS.items():
        lv = d['levels'].get(level)
        if lv is None:
            continue
        if lv['id'] != spec['id']:
            fail(f'data set level {level} is {lv["id"]}, this program computes {spec["id"]}')
        seeded = present = 0
        for k, (i, pos, h) in enumerate(zip(lv['indices'], lv['positions'], lv['hashes'])):
            if geometry_hash(species, pos) != h:
                fail(f'{level} frame {k} (geometry {i}): stored hash {h[:12]} does not match its positions')
            if geo is not None and (i >= len(geo['hashes']) or geo['hashes'][i] != h):
                fail(f'{level} frame {k}: geometry {i} of {a.geometries} is not the data set\'s ({h[:12]});'
                     ' sampled with other parameters?')
            path = label_path(a.cache, level, h)
            if os.path.exists(path):
                present += 1  # a computed (or earlier seeded) label is never overwritten
                continue
            write_json_atomic(path, {
                'hash': h, 'level': spec['id'],
                'energy_hartree': lv['energies'][k] / HARTREE_KCAL + lv['referenceEnergyHartree'],
                'gradient_hartree_bohr': [[-f * BOHR_ANG / HARTREE_KCAL for f in row] for row in lv['forces'][k]],
                'provenance': {'method': lv['method'], 'basis': lv['basis'], 'program': lv['program'],
                               'version': lv['version'],
                               'seededFrom': {'dataset': os.path.basename(a.from_), 'sha256': digest,
                                              'precision': SEEDED_PRECISION}},
            })
            seeded += 1
        counts[level] = {'seeded': seeded, 'present': present}
    emit({'final': True, **{f'{lvl}_{k}': v for lvl, c in counts.items() for k, v in c.items()}})
    emit({'outputs': {'seeded': sum(c['seeded'] for c in counts.values()), 'sha256': digest}})


# --------------------------------------------------------------------------------------------
# assemble


def cmd_assemble(a):
    g = read_json(a.geometries)
    species = g['species']
    if a.cheap + a.accurate > len(g['positions']):
        fail(f'--cheap + --accurate = {a.cheap + a.accurate} > {len(g["positions"])} geometries')
    ranges = {'cheap': range(0, a.cheap), 'accurate': range(a.cheap, a.cheap + a.accurate)}
    if a.partial:
        # Only the accurate frames labelled so far (a labelling run stopped early): still i.i.d.
        # draws of the same sampling, recorded by index so the selection is reproducible.
        ranges['accurate'] = [i for i in ranges['accurate']
                              if os.path.exists(label_path(a.cache, 'accurate', g['hashes'][i]))]
        if not ranges['accurate']:
            fail('--partial: no accurate labels in the cache yet')
    out = {
        'format': 'trellis-mlff-dataset/v1',
        'molecule': g['molecule'],
        'species': species,
        'atomicNumbers': [ATOMIC_NUMBER[s] for s in species],
        'units': {'positions': 'angstrom', 'energy': 'kcal/mol', 'forces': 'kcal/mol/angstrom'},
        'sampling': g['sampling'],
        'reference': g['reference'],
        'geometriesHash': hashlib.sha256(json.dumps(g['hashes']).encode()).hexdigest(),
        'levels': {},
    }
    for level, rng in ranges.items():
        e_ref, _ = compute(level, species, g['reference'])
        energies, forces, hashes = [], [], []
        prov = None
        for i in rng:
            h = g['hashes'][i]
            path = label_path(a.cache, level, h)
            if not os.path.exists(path):
                fail(f'{level} label of geometry {i} ({h[:12]}) is not in the cache; run the label stage first')
            lab = read_json(path)
            prov = lab['provenance']
            energies.append(round((lab['energy_hartree'] - e_ref) * HARTREE_KCAL, 6))
            forces.append([[round(-v * HARTREE_KCAL / BOHR_ANG, 4) for v in row] for row in lab['gradient_hartree_bohr']])
            hashes.append(h)
        out['levels'][level] = {
            **prov, 'id': LEVELS[level]['id'], 'referenceEnergyHartree': e_ref, 'frames': len(energies),
            'indices': list(rng),
            'positions': [g['positions'][i] for i in rng], 'energies': energies, 'forces': forces,
            'hashes': hashes,
        }
    write_json_atomic(a.out, out, compress=True)
    with open(a.out, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    emit({'final': True, 'cheap': len(ranges['cheap']), 'accurate': len(ranges['accurate']),
          'bytes': os.path.getsize(a.out)})
    emit({'outputs': {'dataset': a.out, 'sha256': digest}})


def main(argv=None):
    p = argparse.ArgumentParser(prog='trellis_chem')
    p.add_argument('--cache', default=os.environ.get('TRELLIS_CHEM_CACHE', '.trellis/chem-cache'))
    sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('sample')
    s.add_argument('--molecule', default='ethanol')
    s.add_argument('--frames', type=int, required=True)
    s.add_argument('--temperature', type=float, default=500.0)
    s.add_argument('--seed', type=int, default=0)
    lb = sub.add_parser('label')
    geo = os.environ.get('TRELLIS_CHEM_GEOMETRIES')
    lb.add_argument('--geometries', required=geo is None, default=geo)
    lb.add_argument('--level', required=True)
    lb.add_argument('--shard', type=int, default=0)
    lb.add_argument('--shards', type=int, default=1)
    lb.add_argument('--offset', type=int, default=0)
    lb.add_argument('--count', type=int)
    asm = sub.add_parser('assemble')
    asm.add_argument('--geometries', required=geo is None, default=geo)
    asm.add_argument('--cheap', type=int, required=True)
    asm.add_argument('--accurate', type=int, required=True)
    asm.add_argument('--out', required=True)
    asm.add_argument('--partial', action='store_true',
                     help='accurate: only the frames of the range labelled so far (records their indices)')
    sc = sub.add_parser('seed-cache', help='write the labels of a data set into the label cache')
    sc.add_argument('--from', dest='from_', required=True, help='a trellis-mlff-dataset/v1 file')
    sc.add_argument('--geometries', default=geo,
                    help='also require each frame to be this geometries file\'s frame of the same index')
    for sp in (s, lb, asm, sc):
        sp.add_argument('--cache', default=argparse.SUPPRESS)
    a = p.parse_args(argv)
    {'sample': cmd_sample, 'label': cmd_label, 'assemble': cmd_assemble, 'seed-cache': cmd_seed_cache}[a.cmd](a)


if __name__ == '__main__':
    main()
