/** `trellis export`: one row per trial (params + final metrics), or per-step metrics with --steps. */
import type { TrellisClient } from '../client/index.js';

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function toCsv(rows: Record<string, unknown>[]): string {
  const columns: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  return [columns.join(','), ...rows.map((row) => columns.map((c) => csvCell(row[c])).join(','))].join('\n') + '\n';
}

export async function exportExperiment(
  client: TrellisClient,
  id: string,
  format: 'csv' | 'json',
  steps: boolean,
): Promise<string> {
  if (steps) {
    const rows = (await client.exportMetrics(id)).map((m) => ({
      trial: m.trialNumber,
      trial_id: m.trialId,
      attempt: m.attempt,
      step: m.step,
      time: new Date(m.time).toISOString(),
      ...m.values,
    }));
    return format === 'json' ? `${JSON.stringify({ experimentId: id, steps: rows }, null, 2)}\n` : toCsv(rows);
  }
  const trials = await client.trials(id);
  if (format === 'json') {
    return `${JSON.stringify({ experimentId: id, trials: trials.map((t) => ({ id: t.id, number: t.number, status: t.status, params: t.params, metrics: t.metrics, attempts: t.attempts, worker: t.worker, seed: t.seed })) }, null, 2)}\n`;
  }
  return toCsv(
    trials.map((t) => ({
      trial: t.number,
      trial_id: t.id,
      status: t.status,
      attempts: t.attempts,
      seed: t.seed,
      ...Object.fromEntries(Object.entries(t.params).map(([k, v]) => [`param.${k}`, v])),
      ...Object.fromEntries(Object.entries(t.metrics).map(([k, v]) => [`metric.${k}`, v])),
    })),
  );
}
