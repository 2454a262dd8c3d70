/**
 * LocalStore's experiments: all in memory (a handful, each with its spec), with newest-first
 * indexes overall and per status for keyset pages; the spec is journaled once in its own
 * `spec` record, updates journal the rest of the document.
 */
import type { ExperimentStatus } from '../../shared/states.js';
import type { ExperimentDoc } from '../../shared/types.js';
import type { ExperimentExpect, ExperimentPageQuery, ExperimentSummary, ListedExperiment, Page } from './base.js';
import { budgetOnly, checkPageLimit } from './base.js';
import { applyPatch, clone, matchesStatus } from './documents.js';
import { mergedPage } from './local-index.js';
import { encode, type Journal } from './local-journal.js';
import { newestFirst, withoutSpec, type LocalState } from './local-records.js';

export class LocalExperiments {
  constructor(
    private readonly journal: Journal,
    private readonly data: LocalState,
    private readonly visit: () => void,
  ) {}

  async create(doc: ExperimentDoc): Promise<{ experiment: ExperimentDoc; created: boolean }> {
    const existingId = this.data.experimentByRequest.get(doc.requestId);
    if (existingId !== undefined) {
      await this.journal.write([]);
      return { experiment: clone(this.data.experiments.get(existingId)!), created: false };
    }
    if (this.data.experiments.has(doc.id))
      throw new Error(`experiment id ${doc.id} already exists with another requestId`);
    const stored = clone(doc);
    this.data.setExperiment(stored);
    this.data.experimentByRequest.set(stored.requestId, stored.id);
    // The spec is written once, in its own record; updates journal the rest of the document.
    await this.journal.write([
      encode({ t: 'spec', e: stored.id, d: stored.spec }),
      encode({ t: 'exp', d: withoutSpec(stored) }),
    ]);
    return { experiment: clone(stored), created: true };
  }

  async list(filter: { status?: ExperimentStatus[] } = {}): Promise<ExperimentDoc[]> {
    const statuses = filter.status;
    const out: ExperimentDoc[] = [];
    for (const doc of this.data.experiments.values())
      if (!statuses || statuses.includes(doc.status)) out.push(clone(doc));
    return out.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  async page(query: ExperimentPageQuery): Promise<Page<ListedExperiment>> {
    checkPageLimit(query.limit);
    const indexes = query.status
      ? [...new Set(query.status)].flatMap((s) => this.data.experimentsByStatus.get(s) ?? [])
      : [this.data.experimentOrder];
    const page = mergedPage(indexes, newestFirst, query.after, query.limit, this.visit);
    const items = page.items.map(({ id }): ListedExperiment => {
      const doc = this.data.experiments.get(id)!;
      const summary: ListedExperiment = clone(withoutSpec(doc));
      if (query.spec === 'full') summary.spec = clone(doc.spec);
      else if (query.spec === 'budget') summary.spec = budgetOnly(doc.spec);
      return summary;
    });
    return { items, more: page.more };
  }

  async summaries(filter: { status?: ExperimentStatus[] } = {}): Promise<ExperimentSummary[]> {
    const statuses = filter.status;
    const out: ExperimentDoc[] = [];
    for (const doc of this.data.experiments.values()) if (!statuses || statuses.includes(doc.status)) out.push(doc);
    out.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    return out.map((doc) => clone(withoutSpec(doc)));
  }

  async update(
    id: string,
    expect: ExperimentExpect,
    patch: Partial<ExperimentDoc>,
  ): Promise<ExperimentDoc | undefined> {
    const doc = this.data.experiments.get(id);
    if (!doc || !matchesStatus(doc.status, expect.status)) return undefined;
    if (expect.trialsCreated !== undefined && doc.trialsCreated !== expect.trialsCreated) return undefined;
    const next = applyPatch(doc, patch);
    this.data.setExperiment(next);
    if (next.requestId !== doc.requestId) {
      this.data.experimentByRequest.delete(doc.requestId);
      this.data.experimentByRequest.set(next.requestId, id);
    }
    await this.journal.write([
      ...(next.spec !== doc.spec ? [encode({ t: 'spec', e: id, d: next.spec })] : []),
      encode({ t: 'exp', d: withoutSpec(next) }),
    ]);
    return clone(next);
  }
}
