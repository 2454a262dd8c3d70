/**
 * MongoStore's keyset pages (base.ts `list*Page`): a range query on an indexed sort key with a
 * limit of `limit + 1` (the extra document only says whether more follow), so the server reads
 * and sends one page whatever the collection holds. Indexes used (mongo-schema.ts INDEXES):
 * experiments `createdAt_id` and `status_createdAt`, trials `experimentId_number_unique`,
 * metrics `trialId_step_attempt`, trials `experimentId_status` for the counts.
 *
 * Every document a cursor returns is counted in `reads.rows` (base.ts ReadCounter).
 */
import type { Collection, Document, Filter } from 'mongodb';

import type { TrialStatus } from '../../shared/states.js';
import type { ExperimentDoc, MetricDoc, TrialDoc } from '../../shared/types.js';
import type { ExperimentPageQuery, ListedExperiment, Page, ReadCounter, TrialCounts } from './base.js';
import { checkPageLimit } from './base.js';
import { fromRaw, type Raw } from './mongo-documents.js';

type Col = (name: 'experiments' | 'trials' | 'metrics') => Collection<Raw>;

function paged<T>(docs: Document[], limit: number, reads: ReadCounter, map: (d: Document) => T): Page<T> {
  reads.rows += docs.length;
  return { items: docs.slice(0, limit).map(map), more: docs.length > limit };
}

export async function experimentsPage(
  col: Col,
  reads: ReadCounter,
  q: ExperimentPageQuery,
): Promise<Page<ListedExperiment>> {
  checkPageLimit(q.limit);
  const filter: Filter<Raw> = q.status ? { status: { $in: q.status } } : {};
  if (q.after) {
    const { createdAt, id } = q.after;
    filter.$or = [{ createdAt: { $lt: createdAt } }, { createdAt, _id: { $lt: id } }];
  }
  const docs = await col('experiments')
    .find(filter, q.spec === 'full' ? {} : { projection: { spec: 0 } })
    .sort({ createdAt: -1, _id: -1 })
    .limit(q.limit + 1)
    .toArray();
  const page = paged(docs, q.limit, reads, fromRaw<ListedExperiment>);
  if (q.spec === 'budget' && page.items.length > 0) {
    // The budget alone, by a projection: the rest of each spec is neither read nor sent.
    const budgets = await col('experiments')
      .find({ _id: { $in: page.items.map((e) => e.id) } }, { projection: { 'spec.budget': 1 } })
      .toArray();
    reads.rows += budgets.length;
    const byId = new Map(budgets.map((d) => [d._id, fromRaw<{ spec?: ExperimentDoc['spec'] }>(d).spec ?? {}]));
    for (const item of page.items) item.spec = byId.get(item.id) ?? {};
  }
  return page;
}

export async function trialsPage(
  col: Col,
  reads: ReadCounter,
  experimentId: string,
  q: { afterNumber?: number; limit: number },
): Promise<Page<TrialDoc>> {
  checkPageLimit(q.limit);
  const filter: Filter<Raw> = { experimentId };
  if (q.afterNumber !== undefined) filter.number = { $gt: q.afterNumber };
  const docs = await col('trials')
    .find(filter)
    .sort({ number: 1 })
    .limit(q.limit + 1)
    .toArray();
  return paged(docs, q.limit, reads, fromRaw<TrialDoc>);
}

export async function metricsPage(
  col: Col,
  reads: ReadCounter,
  trialId: string,
  q: { afterStep?: number; limit: number },
): Promise<Page<MetricDoc>> {
  checkPageLimit(q.limit);
  const filter: Filter<Raw> = { trialId };
  if (q.afterStep !== undefined) filter.step = { $gt: q.afterStep };
  const docs = await col('metrics')
    .find(filter)
    .sort({ step: 1, attempt: -1 })
    .limit(q.limit + 1)
    .toArray();
  return paged(docs, q.limit, reads, fromRaw<MetricDoc>);
}

/** Counted by the server ($group): one small document per (experiment, status) comes back. */
export async function trialCounts(col: Col, reads: ReadCounter, ids: string[]): Promise<Map<string, TrialCounts>> {
  const out = new Map<string, TrialCounts>(ids.map((id) => [id, {}]));
  if (ids.length === 0) return out;
  const groups = await col('trials')
    .aggregate<{ _id: { e: string; s: TrialStatus }; n: number }>([
      { $match: { experimentId: { $in: ids } } },
      { $group: { _id: { e: '$experimentId', s: '$status' }, n: { $sum: 1 } } },
    ])
    .toArray();
  reads.rows += groups.length;
  for (const { _id, n } of groups) {
    const counts = out.get(_id.e);
    if (counts) counts[_id.s] = n;
  }
  return out;
}
