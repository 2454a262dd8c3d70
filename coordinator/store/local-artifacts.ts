/**
 * LocalStore's artifacts: bytes in files under `artifacts/`, each artifact's meta in a small
 * file of its own under `artifacts/meta/` (local-journal.ts writes both to a temporary name,
 * then renames; the meta last, so it is what makes the artifact visible). Nothing is kept in
 * memory per artifact: a command sweep stores one (its log) per attempt, and metas held in a
 * Map cost about 960 bytes each, growing with the sweep. An artifact is immutable: a second put
 * of its id with the same bytes returns the first; puts of one id run one after another.
 *
 * Journals written before this kept metas as `artifact` records; `migrate` writes those out as
 * meta files at start, before the start-up snapshot drops the records.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ArtifactMeta } from '../../shared/types.js';
import { VerifyingStream, type ExpectedArtifact } from './artifact-stream.js';
import { clone } from './documents.js';
import { KeyedQueue } from '../../shared/keyed-queue.js';
import type { Journal } from './local-journal.js';

export class LocalArtifacts {
  private readonly puts = new KeyedQueue();

  constructor(
    private readonly journal: Journal,
    /** Throws when the store is closed or its journal failed (checked again after each file write). */
    private readonly assertOpen: () => void,
  ) {}

  /** Writes the metas of `artifact` records read from an older journal as meta files (kept ones stay). */
  async migrate(legacy: Map<string, ArtifactMeta>): Promise<void> {
    for (const meta of legacy.values()) if (this.meta(meta.id) === undefined) await this.journal.putMeta(meta.id, meta);
    legacy.clear();
  }

  async put(meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>, data: Buffer): Promise<ArtifactMeta> {
    if (!meta.id) throw new TypeError('putArtifact: id must be a non-empty string');
    const sha256 = createHash('sha256').update(data).digest('hex');
    return this.puts.run(meta.id, async () => {
      const existing = this.meta(meta.id);
      if (existing) return sameArtifact(existing, sha256);
      await this.journal.putFile(meta.id, data);
      this.assertOpen();
      return this.publish({ ...clone(meta), size: data.length, sha256, createdAt: Date.now() });
    });
  }

  async putFrom(
    meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>,
    open: () => Readable,
    expected: ExpectedArtifact,
  ): Promise<ArtifactMeta> {
    if (!meta.id) throw new TypeError('putArtifactFrom: id must be a non-empty string');
    return this.puts.run(meta.id, async () => {
      const existing = this.meta(meta.id);
      if (existing) return sameArtifact(existing, expected.sha256);
      await this.journal.putFileFrom(meta.id, open(), new VerifyingStream(meta.id, expected));
      this.assertOpen();
      return this.publish({ ...clone(meta), size: expected.size, sha256: expected.sha256, createdAt: Date.now() });
    });
  }

  async open(id: string, offset = 0): Promise<{ meta: ArtifactMeta; stream: Readable } | undefined> {
    const meta = this.meta(id);
    if (!meta) return undefined;
    return { meta, stream: this.journal.openFile(id, offset) };
  }

  async get(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | undefined> {
    const meta = this.meta(id);
    if (!meta) return undefined;
    const data = await this.journal.readFile(id);
    return { meta, data };
  }

  private async publish(stored: ArtifactMeta): Promise<ArtifactMeta> {
    await this.journal.putMeta(stored.id, stored);
    return stored;
  }

  private meta(id: string): ArtifactMeta | undefined {
    return this.journal.readMeta(id) as ArtifactMeta | undefined;
  }
}

function sameArtifact(existing: ArtifactMeta, sha256: string): ArtifactMeta {
  if (existing.sha256 !== sha256) throw new Error(`artifact ${existing.id} already exists with other content`);
  return existing;
}
