#!/usr/bin/env node
/**
 * What grew between two heap snapshots of one process (issue 15 §4):
 *
 *   node scripts/heap-diff.mjs A.heapsnapshot B.heapsnapshot [TOP]
 *
 * V8 keeps an object's snapshot id for its lifetime, so the objects in B whose ids are not in A
 * were allocated between the two and are still live. Each is charged to its owner: the first
 * object up its (first strong) retainer chain that was already live in A, named with the edge it
 * hangs from. The owners holding the most new bytes are printed with their own retainer path, so a
 * per-trial Set or Map shows up as "Set (its table) <- runner.seen <- ...". A bounded cache that
 * replaces its entries shows up there too (its entries are new): the second table, B's objects
 * minus A's summed by type and constructor name, tells net growth from churn.
 */
import { readFileSync } from 'node:fs';

function load(file) {
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  const meta = raw.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const f = (name) => meta.node_fields.indexOf(name);
  const e = (name) => meta.edge_fields.indexOf(name);
  const fType = f('type');
  const fName = f('name');
  const fId = f('id');
  const fSize = f('self_size');
  const fEdges = f('edge_count');
  const eType = e('type');
  const eName = e('name_or_index');
  const eTo = e('to_node');
  const nodeTypes = meta.node_types[fType];
  const edgeTypes = meta.edge_types[eType];
  const nodes = raw.nodes;
  const edges = raw.edges;
  const strings = raw.strings;
  const count = nodes.length / nf;
  const firstEdge = new Int32Array(count + 1);
  for (let i = 0, acc = 0; i < count; i++) {
    firstEdge[i] = acc;
    acc += nodes[i * nf + fEdges] * ef;
    firstEdge[i + 1] = acc;
  }
  const retainer = new Int32Array(count).fill(-1);
  const retainerEdge = new Int32Array(count).fill(-1);
  const weak = edgeTypes.indexOf('weak');
  const shortcut = edgeTypes.indexOf('shortcut');
  for (let i = 0; i < count; i++) {
    for (let k = firstEdge[i]; k < firstEdge[i + 1]; k += ef) {
      const t = edges[k + eType];
      if (t === weak || t === shortcut) continue;
      const to = edges[k + eTo] / nf;
      if (retainer[to] === -1 && to !== i) {
        retainer[to] = i;
        retainerEdge[to] = k;
      }
    }
  }
  const type = (i) => nodeTypes[nodes[i * nf + fType]];
  const name = (i) => {
    const s = strings[nodes[i * nf + fName]];
    return s.length > 60 ? s.slice(0, 57) + '...' : s;
  };
  const edgeLabel = (k) => {
    const t = edgeTypes[edges[k + eType]];
    const v = edges[k + eName];
    return t === 'element' || t === 'hidden' ? `[${v}]` : String(strings[v]).slice(0, 40);
  };
  return {
    count,
    id: (i) => nodes[i * nf + fId],
    size: (i) => nodes[i * nf + fSize],
    type,
    name,
    describe: (i) => `${type(i)}:${name(i)}@${nodes[i * nf + fId]}`,
    retainer,
    retainerEdge,
    edgeLabel,
  };
}

function path(s, i, depth = 8) {
  const parts = [];
  for (let d = 0; d < depth && s.retainer[i] !== -1; d++) {
    const r = s.retainer[i];
    parts.push(`${s.edgeLabel(s.retainerEdge[i])} of ${s.type(r)}:${s.name(r)}`);
    i = r;
  }
  return parts.join(' <- ');
}

const [fileA, fileB, topArg = '25'] = process.argv.slice(2);
if (!fileA || !fileB) {
  process.stderr.write('usage: node scripts/heap-diff.mjs A.heapsnapshot B.heapsnapshot [TOP]\n');
  process.exit(2);
}
const top = Number(topArg);
const a = load(fileA);
const oldIds = new Set();
const byKindA = new Map();
for (let i = 0; i < a.count; i++) {
  oldIds.add(a.id(i));
  const kind = `${a.type(i)}:${a.name(i)}`;
  const entry = byKindA.get(kind) ?? { count: 0, bytes: 0 };
  entry.count++;
  entry.bytes += a.size(i);
  byKindA.set(kind, entry);
}
const b = load(fileB);
// owner[i]: the node live in A that node i hangs from (itself when it was live in A).
const owner = new Int32Array(b.count).fill(-2);
const via = new Int32Array(b.count).fill(-1); // the new node directly under the owner
for (let i = 0; i < b.count; i++) {
  if (owner[i] !== -2) continue;
  const chain = [];
  let j = i;
  while (j !== -1 && owner[j] === -2 && !oldIds.has(b.id(j)) && chain.length < 10000) {
    chain.push(j);
    j = b.retainer[j];
  }
  let o;
  let v;
  if (j === -1 || chain.length >= 10000) {
    o = -1;
    v = -1;
  } else if (owner[j] !== -2 && !oldIds.has(b.id(j))) {
    o = owner[j];
    v = via[j];
  } else {
    o = j;
    v = chain.length ? chain[chain.length - 1] : -1;
    owner[j] = j;
  }
  for (const c of chain) {
    owner[c] = o;
    via[c] = v;
  }
}
const groups = new Map();
let newBytes = 0;
let newCount = 0;
for (let i = 0; i < b.count; i++) {
  if (oldIds.has(b.id(i))) continue;
  newBytes += b.size(i);
  newCount++;
  const o = owner[i];
  const v = via[i];
  const key =
    o < 0
      ? '(no old owner)'
      : `${b.describe(o)} .${v >= 0 ? b.edgeLabel(b.retainerEdge[v]).replace(/^\[\d+\]$/, '[i]') : '?'}`;
  const g = groups.get(key) ?? { bytes: 0, count: 0, o };
  g.bytes += b.size(i);
  g.count++;
  groups.set(key, g);
}
const mb = (n) => (n / 2 ** 20).toFixed(2);
console.log(`A: ${a.count} nodes; B: ${b.count} nodes; new in B and live: ${newCount} objects, ${mb(newBytes)} MB`);
console.log(`\nNew live bytes by owner (first strong retainer chain up to an object live in A):`);
for (const [key, g] of [...groups].sort((x, y) => y[1].bytes - x[1].bytes).slice(0, top)) {
  console.log(`${mb(g.bytes).padStart(8)} MB ${String(g.count).padStart(8)} objs  ${key}`);
  if (g.o >= 0) console.log(`           <- ${path(b, g.o)}`);
}
const byKindB = new Map();
for (let i = 0; i < b.count; i++) {
  const kind = `${b.type(i)}:${b.name(i)}`;
  const entry = byKindB.get(kind) ?? { count: 0, bytes: 0 };
  entry.count++;
  entry.bytes += b.size(i);
  byKindB.set(kind, entry);
}
console.log(`\nGrowth by type:name (B - A):`);
const rows = [...byKindB].map(([kind, e]) => {
  const old = byKindA.get(kind) ?? { count: 0, bytes: 0 };
  return { kind, bytes: e.bytes - old.bytes, count: e.count - old.count };
});
for (const r of rows.sort((x, y) => y.bytes - x.bytes).slice(0, top)) {
  console.log(`${mb(r.bytes).padStart(8)} MB ${String(r.count).padStart(8)} objs  ${r.kind}`);
}
