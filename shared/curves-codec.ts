/**
 * A compact binary form of DashCurves for the dashboard's curves endpoint
 * (`/api/experiments/ID/curves?format=f32`): a sweep of 10,000 trials × 100 steps is 22 MB as
 * JSON and about 4 MB here, and the browser reads the values straight into a Float32Array
 * instead of parsing a million numbers.
 *
 * Layout (little-endian): the 4 bytes `TRC1`; a uint32 header length; the header as UTF-8 JSON
 * (`CurvesHeader`); zero padding to a multiple of 4; then, for each carried metric in header
 * order and each trial in header order, that trial's values as float32, NaN where the metric was
 * not reported at that step (a value beyond float32's range reads back as null too). Values are rounded to float32 (7 significant digits): this form is
 * for drawing; exports and the JSON form keep full precision. Pure: the browser bundle imports it.
 */
import type { DashCurves } from './dashboard.js';

const MAGIC = [0x54, 0x52, 0x43, 0x31]; // "TRC1"

/** Steps of one trial: `[first, count]` when they are first, first+1, …, else the list itself. */
type StepsOf = [number, number] | { list: number[] };

interface CurvesHeader {
  metrics: string[];
  carried: string[];
  trials: number[];
  steps: StepsOf[];
}

function stepsOf(steps: readonly number[]): StepsOf {
  const first = steps[0] ?? 0;
  for (let i = 1; i < steps.length; i++) if (steps[i] !== first + i) return { list: [...steps] };
  return [first, steps.length];
}

function expand(steps: StepsOf): number[] {
  if (!Array.isArray(steps)) return steps.list;
  const [first, count] = steps;
  return Array.from({ length: count }, (_, i) => first + i);
}

export function encodeCurves(curves: DashCurves): Uint8Array {
  const trials = Object.keys(curves.steps)
    .map(Number)
    .sort((a, b) => a - b);
  const carried = Object.keys(curves.values);
  const header: CurvesHeader = {
    metrics: curves.metrics,
    carried,
    trials,
    steps: trials.map((n) => stepsOf(curves.steps[n] ?? [])),
  };
  const head = new TextEncoder().encode(JSON.stringify(header));
  const bodyAt = Math.ceil((8 + head.length) / 4) * 4;
  const points = trials.reduce((sum, n) => sum + (curves.steps[n]?.length ?? 0), 0);
  const out = new Uint8Array(bodyAt + 4 * points * carried.length);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, head.length, true);
  out.set(head, 8);
  const values = new Float32Array(out.buffer, bodyAt);
  let at = 0;
  for (const metric of carried) {
    const byTrial = curves.values[metric] ?? {};
    for (const n of trials) {
      const count = curves.steps[n]?.length ?? 0;
      const ys = byTrial[n] ?? [];
      for (let i = 0; i < count; i++) {
        const y = ys[i];
        values[at++] = typeof y === 'number' ? y : NaN;
      }
    }
  }
  return out;
}

export function decodeCurves(buffer: ArrayBuffer): DashCurves {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error('curves: not a TRC1 document');
  const headLength = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headLength))) as CurvesHeader;
  const bodyAt = Math.ceil((8 + headLength) / 4) * 4;
  const values = new Float32Array(buffer, bodyAt, (buffer.byteLength - bodyAt) / 4);
  const curves: DashCurves = { metrics: header.metrics, steps: {}, values: {} };
  header.trials.forEach((n, i) => (curves.steps[n] = expand(header.steps[i]!)));
  const expected = header.carried.length * header.trials.reduce((sum, n) => sum + curves.steps[n]!.length, 0);
  if (values.length !== expected) throw new Error(`curves: expected ${expected} values, found ${values.length}`);
  let at = 0;
  for (const metric of header.carried) {
    const byTrial: Record<number, (number | null)[]> = {};
    for (const n of header.trials) {
      const count = curves.steps[n]!.length;
      const ys = new Array<number | null>(count);
      for (let i = 0; i < count; i++) {
        const y = values[at++]!;
        ys[i] = Number.isFinite(y) ? y : null;
      }
      byTrial[n] = ys;
    }
    curves.values[metric] = byTrial;
  }
  return curves;
}
