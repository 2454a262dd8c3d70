/**
 * LocalStore's artifacts: bytes in files under `artifacts/` (local-journal.ts writes them to a
 * temporary name, then renames), metas in memory and journaled as `artifact` records. An
 * artifact is immutable: a second put of its id with the same bytes returns the first.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ArtifactMeta } from '../../shared/types.js';
import { VerifyingStream, type ExpectedArtifact } from './artifact-stream.js';
import { clone } from './documents.js';
import { encode, type Journal } from './local-journal.js';

export class LocalArtifacts {
  constructor(
    private readonly journal: Journal,
    private readonly metas: Map<string, ArtifactMeta>,
    /** Throws when the store is closed or its journal failed (checked again after each file write). */
    private readonly assertOpen: () => void,
  ) {}

  async put(meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>, data: Buffer): Promise<ArtifactMeta> {
    if (!meta.id) throw new TypeError('putArtifact: id must be a non-empty string');
    const sha256 = createHash('sha256').update(data).digest('hex');
    const existing = this.metas.get(meta.id);
    if (existing) {
      if (existing.sha256 !== sha256) throw new Error(`artifact ${meta.id} already exists with other content`);
      await this.journal.write([]);
      return clone(existing);
    }
    await this.journal.putFile(meta.id, data);
    this.assertOpen();
    // A concurrent put of the same id may have won while the file was written.
    const raced = this.metas.get(meta.id);
    if (raced) {
      if (raced.sha256 !== sha256) throw new Error(`artifact ${meta.id} already exists with other content`);
      await this.journal.write([]);
      return clone(raced);
    }
    const stored: ArtifactMeta = { ...clone(meta), size: data.length, sha256, createdAt: Date.now() };
    this.metas.set(stored.id, stored);
    await this.journal.write([encode({ t: 'artifact', d: stored })]);
    return clone(stored);
  }

  async putFrom(
    meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>,
    open: () => Readable,
    expected: ExpectedArtifact,
  ): Promise<ArtifactMeta> {
    if (!meta.id) throw new TypeError('putArtifactFrom: id must be a non-empty string');
    const same = (existing: ArtifactMeta): ArtifactMeta => {
      if (existing.sha256 !== expected.sha256) throw new Error(`artifact ${meta.id} already exists with other content`);
      return clone(existing);
    };
    const existing = this.metas.get(meta.id);
    if (existing) return same(existing);
    await this.journal.putFileFrom(meta.id, open(), new VerifyingStream(meta.id, expected));
    this.assertOpen();
    const raced = this.metas.get(meta.id);
    if (raced) return same(raced);
    const stored: ArtifactMeta = {
      ...clone(meta),
      size: expected.size,
      sha256: expected.sha256,
      createdAt: Date.now(),
    };
    this.metas.set(stored.id, stored);
    await this.journal.write([encode({ t: 'artifact', d: stored })]);
    return clone(stored);
  }

  async open(id: string, offset = 0): Promise<{ meta: ArtifactMeta; stream: Readable } | undefined> {
    const meta = this.metas.get(id);
    if (!meta) return undefined;
    return { meta: clone(meta), stream: this.journal.openFile(id, offset) };
  }

  async get(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | undefined> {
    const meta = this.metas.get(id);
    if (!meta) return undefined;
    const data = await this.journal.readFile(id);
    return { meta: clone(meta), data };
  }
}
