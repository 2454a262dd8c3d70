/**
 * `trellis report ID --html FILE`: one self-contained HTML file — the dashboard's report bundle
 * and a snapshot of the experiment (for a pipeline, its stages' sweeps too) — that opens from
 * file:// with no server and no network and draws the same pages as the live dashboard.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrellisClient } from '../client/index.js';
import type { ExperimentView, TrialView } from '../shared/convert.js';
import { curvesOf, toDashExperiment, type DashSnapshot, type DashTrialDetail } from '../shared/dashboard.js';
import type { ExperimentDoc, StageState } from '../shared/types.js';

const ASSETS = fileURLToPath(new URL('../web/', import.meta.url));

export async function writeHtmlReport(client: TrellisClient, id: string, file: string): Promise<string> {
  const snapshot = await snapshotOf(client, id);
  const path = resolve(file);
  writeFileSync(path, renderReport(snapshot));
  return path;
}

export async function snapshotOf(client: TrellisClient, id: string): Promise<DashSnapshot> {
  const snapshot: DashSnapshot = { createdAt: Date.now(), root: id, experiments: {} };
  const add = async (experimentId: string, parentId?: string): Promise<ExperimentView> => {
    const experiment = await client.get(experimentId);
    const trials = (await client.trials(experimentId)).map((t) => trialDoc(t, experimentId));
    const rows = await client.exportMetrics(experimentId);
    const curves = curvesOf(
      rows.map((r) => ({
        trialNumber: r.trialNumber,
        doc: { experimentId, trialId: r.trialId, attempt: r.attempt, step: r.step, time: r.time, values: r.values },
      })),
    );
    const doc: ExperimentDoc = {
      ...experiment,
      requestId: '',
      stages: experiment.stages as ExperimentDoc['stages'],
    } as ExperimentDoc;
    if (parentId) doc.parentId = parentId;
    snapshot.experiments[experimentId] = {
      experiment: toDashExperiment(doc, experiment.kind === 'Sweep' ? trials : undefined),
      trials,
      curves,
    };
    return experiment;
  };
  const root = await add(id);
  for (const stage of Object.values((root.stages ?? {}) as Record<string, StageState>)) {
    if (stage.childId) await add(stage.childId, id);
  }
  return snapshot;
}

/** The trial as the dashboard reads it, from what the gRPC API carries. */
function trialDoc(t: TrialView, experimentId: string): DashTrialDetail {
  return {
    id: t.id,
    experimentId,
    number: t.number,
    status: t.status,
    params: t.params,
    seed: t.seed,
    metrics: t.metrics,
    attempts: t.attemptHistory.map((a) => ({
      n: a.n,
      id: a.id,
      workerId: a.workerId,
      status: a.status as DashTrialDetail['attempts'][number]['status'],
      startedAt: a.startedAt,
      ...(a.endedAt ? { endedAt: a.endedAt } : {}),
      leaseExpiresAt: 0,
      ...(a.error ? { error: a.error } : {}),
    })),
    ...(t.info ? { info: t.info } : {}),
    ...(t.error ? { error: t.error } : {}),
    ...(t.lineage ? { lineage: t.lineage as DashTrialDetail['lineage'] } : {}),
    createdAt: 0,
    updatedAt: 0,
  };
}

/** Inline scripts and data; `<` is escaped so no value can close the script element. */
export function renderReport(snapshot: DashSnapshot, assets = ASSETS): string {
  let js: string;
  let css: string;
  try {
    js = readFileSync(`${assets}/report.js`, 'utf8');
    css = readFileSync(`${assets}/report.css`, 'utf8');
  } catch {
    throw new Error(`the report bundle is missing in ${assets}: build it with npm run build`);
  }
  const data = JSON.stringify(snapshot).replace(/</g, '\\u003c');
  const title = snapshot.experiments[snapshot.root]?.experiment.name ?? snapshot.root;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trellis report: ${escapeHtml(title)}</title>
<style>${css.replace(/<\/style/gi, '<\\/style')}</style></head>
<body><p>Loading…</p>
<script type="application/json" id="trellis-snapshot">${data}</script>
<script>${js.replace(/<\/script/gi, '<\\/script')}</script>
</body></html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
