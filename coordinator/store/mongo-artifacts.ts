/**
 * MongoStore's artifacts (checkpoints, large stage outputs) in the GridFS bucket `artifacts`: the
 * files document's `_id` is the artifact id and its metadata the rest of ArtifactMeta. A put of
 * an id that exists is accepted only with the same content (sha256).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GridFSBucket, type Db, type Document } from 'mongodb';
import type { ArtifactMeta } from '../../shared/types.js';
import { VerifyingStream, type ExpectedArtifact } from './artifact-stream.js';
import { decodeKeys, encodeKeys, type Raw } from './mongo-documents.js';
import { isDuplicateKey } from './mongo-errors.js';

/** GridFS chunk size of streamed artifacts (under MongoDB's 16 MB document limit, few round trips). */
const STREAM_CHUNK_BYTES = 1 << 20;

export class ArtifactFiles {
  private readonly bucket: GridFSBucket;

  constructor(private readonly db: Db) {
    this.bucket = new GridFSBucket(db, { bucketName: 'artifacts' });
  }

  async put(meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>, data: Buffer): Promise<ArtifactMeta> {
    const sha256 = createHash('sha256').update(data).digest('hex');
    const files = this.db.collection<Raw>('artifacts.files');
    const existing = await files.findOne({ _id: meta.id });
    if (existing) return sameArtifact(existing, sha256);
    // Chunks of an upload that died before its files document was written.
    await this.db.collection('artifacts.chunks').deleteMany({ files_id: meta.id });
    const stored: ArtifactMeta = { ...structuredClone(meta), size: data.length, sha256, createdAt: Date.now() };
    const { id: _id, size: _size, ...rest } = stored;
    const upload = this.bucket.openUploadStream(meta.id, {
      id: meta.id as never,
      metadata: encodeKeys(rest) as Document,
    });
    try {
      await pipeline(Readable.from([data]), upload);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const raced = await files.findOne({ _id: meta.id });
      if (!raced) throw err;
      return sameArtifact(raced, sha256);
    }
    return artifactFromRaw({ _id: meta.id, length: data.length, metadata: encodeKeys(rest) });
  }

  /**
   * Streams `source` through `verify` into GridFS (1 MiB chunks). GridFS writes the files
   * document last, on end: a verify error ends the pipeline before it, so readers (who look the
   * files document up first) never see a partial artifact; the chunks written are removed.
   */
  async putFrom(
    meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>,
    source: Readable,
    expected: ExpectedArtifact,
  ): Promise<ArtifactMeta> {
    const files = this.db.collection<Raw>('artifacts.files');
    const existing = await files.findOne({ _id: meta.id });
    if (existing) {
      source.destroy();
      return sameArtifact(existing, expected.sha256);
    }
    const chunks = this.db.collection('artifacts.chunks');
    await chunks.deleteMany({ files_id: meta.id });
    const stored: ArtifactMeta = {
      ...structuredClone(meta),
      size: expected.size,
      sha256: expected.sha256,
      createdAt: Date.now(),
    };
    const { id: _id, size: _size, ...rest } = stored;
    const upload = this.bucket.openUploadStream(meta.id, {
      id: meta.id as never,
      chunkSizeBytes: STREAM_CHUNK_BYTES,
      metadata: encodeKeys(rest) as Document,
    });
    try {
      await pipeline(source, new VerifyingStream(meta.id, expected), upload);
    } catch (err) {
      if (isDuplicateKey(err)) {
        const raced = await files.findOne({ _id: meta.id });
        if (raced) return sameArtifact(raced, expected.sha256);
      }
      await chunks.deleteMany({ files_id: meta.id }).catch(() => undefined);
      throw err;
    }
    return artifactFromRaw({ _id: meta.id, length: expected.size, metadata: encodeKeys(rest) });
  }

  /** The artifact's meta and a stream of its chunks from `offset`; undefined when missing. */
  async open(id: string, offset = 0): Promise<{ meta: ArtifactMeta; stream: Readable } | undefined> {
    const file = await this.db.collection<Raw>('artifacts.files').findOne({ _id: id });
    if (!file) return undefined;
    const meta = artifactFromRaw(file);
    const start = Math.min(offset, meta.size);
    // An empty tail is an empty stream. The driver needs `end` with `start` (its default end is 0).
    const stream =
      start >= meta.size ? Readable.from([]) : this.bucket.openDownloadStream(id as never, { start, end: meta.size });
    return { meta, stream };
  }

  async get(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | undefined> {
    const file = await this.db.collection<Raw>('artifacts.files').findOne({ _id: id });
    if (!file) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of this.bucket.openDownloadStream(id as never)) chunks.push(chunk as Buffer);
    return { meta: artifactFromRaw(file), data: Buffer.concat(chunks) };
  }
}

function artifactFromRaw(file: Document): ArtifactMeta {
  const metadata = decodeKeys(file.metadata ?? {}) as Omit<ArtifactMeta, 'id' | 'size'>;
  return { id: String(file._id), ...metadata, size: Number(file.length) } as ArtifactMeta;
}

function sameArtifact(file: Document, sha256: string): ArtifactMeta {
  const meta = artifactFromRaw(file);
  if (meta.sha256 !== sha256) throw new Error(`artifact ${meta.id} already exists with other content`);
  return meta;
}
