/**
 * MongoStore's artifacts (checkpoints, large stage outputs) in the GridFS bucket `artifacts`: the
 * files document's `_id` is the artifact id and its metadata the rest of ArtifactMeta. A put of
 * an id that exists is accepted only with the same content (sha256).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Binary, ObjectId, type Db, type Document } from 'mongodb';
import { DataLossError } from '../../shared/errors.js';
import type { ArtifactMeta } from '../../shared/types.js';
import { VerifyingStream, type ExpectedArtifact } from './artifact-stream.js';
import { decodeKeys, encodeKeys, type Raw } from './mongo-documents.js';
import { isDuplicateKey } from './mongo-errors.js';
import { KeyedQueue } from '../../shared/keyed-queue.js';

/** GridFS chunk size of streamed artifacts (under MongoDB's 16 MB document limit, few round trips). */
const STREAM_CHUNK_BYTES = 1 << 20;
/** GridFS chunks per cursor batch when reading a stream (a few MiB in memory at most). */
const READ_BATCH_CHUNKS = 4;

export class ArtifactFiles {
  /**
   * Uploads of one id run one after another in this process. Each upload first removes the
   * chunks a dead upload of its id left behind; run side by side (a worker re-sending after a
   * broken connection while the first stream still drains), the second would remove the
   * first's chunks. Only one coordinator writes a store at a time, so a per-process queue is
   * enough; the unique (files_id, n) index turns anything else into a refused upload, never a
   * torn artifact.
   */
  private readonly uploads = new KeyedQueue();

  constructor(private readonly db: Db) {}

  /** A whole artifact in memory: the streamed path below, its hash taken here (not again on the way). */
  put(meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>, data: Buffer): Promise<ArtifactMeta> {
    const expected = { size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
    return this.uploads.run(meta.id, () => this.putFromNow(meta, Readable.from([data]), expected, false));
  }

  /**
   * Streams `source` through `verify` into GridFS (1 MiB chunks), written here rather than by the
   * driver's upload stream so that this code knows when no chunk insert is in flight: one at a
   * time, each awaited. The files document is written last: a verify error ends the upload
   * before it, so readers (who look the files document up first) never see a partial artifact,
   * and the chunks written are removed. The unique index on (files_id, n) (mongo-schema.ts) makes
   * a concurrent upload of the same id fail with a duplicate key instead of interleaving chunks.
   */
  putFrom(
    meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>,
    source: Readable,
    expected: ExpectedArtifact,
  ): Promise<ArtifactMeta> {
    return this.uploads.run(meta.id, () => this.putFromNow(meta, source, expected, true));
  }

  private async putFromNow(
    meta: Omit<ArtifactMeta, 'size' | 'sha256' | 'createdAt'>,
    source: Readable,
    expected: ExpectedArtifact,
    verify: boolean,
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
    const filesDoc = {
      _id: meta.id,
      length: expected.size,
      chunkSize: STREAM_CHUNK_BYTES,
      uploadDate: new Date(stored.createdAt),
      filename: meta.id,
      metadata: encodeKeys(rest) as Document,
    };
    let n = 0;
    const insertChunk = (data: Buffer): Promise<unknown> =>
      chunks.insertOne({ _id: new ObjectId(), files_id: meta.id, n: n++, data: new Binary(data) });
    try {
      const sink = async (bytes: AsyncIterable<Buffer>): Promise<void> => {
        for await (const chunk of chunkedBy(bytes, STREAM_CHUNK_BYTES)) await insertChunk(chunk);
      };
      if (verify) await pipeline(source, new VerifyingStream(meta.id, expected), sink);
      else await pipeline(source, sink);
      await files.insertOne(filesDoc as unknown as Raw);
    } catch (err) {
      if (isDuplicateKey(err)) {
        const raced = await files.findOne({ _id: meta.id });
        if (raced) return sameArtifact(raced, expected.sha256);
      }
      await chunks.deleteMany({ files_id: meta.id }).catch(() => undefined);
      throw err;
    }
    return artifactFromRaw(filesDoc);
  }

  /**
   * The artifact's meta and a stream of its chunks from `offset`; undefined when missing. Read
   * with a cursor of a few chunks per batch (the driver's download stream takes 101 per first
   * batch: 101 MiB at 1 MiB chunks), pulled only as fast as the stream is read.
   */
  async open(id: string, offset = 0): Promise<{ meta: ArtifactMeta; stream: Readable } | undefined> {
    const file = await this.db.collection<Raw>('artifacts.files').findOne({ _id: id });
    if (!file) return undefined;
    const meta = artifactFromRaw(file);
    const chunkSize = Number(file.chunkSize);
    const start = Math.min(offset, meta.size);
    const chunks = this.db.collection('artifacts.chunks');
    async function* read(): AsyncGenerator<Buffer> {
      if (start >= meta.size) return;
      const last = Math.ceil(meta.size / chunkSize);
      let n = Math.floor(start / chunkSize);
      let skip = start - n * chunkSize;
      const cursor = chunks.find({ files_id: id, n: { $gte: n } }, { batchSize: READ_BATCH_CHUNKS }).sort({ n: 1 });
      try {
        for await (const doc of cursor) {
          if (doc.n !== n) throw new DataLossError(`artifact ${id}: GridFS chunk ${n} is missing`);
          const bytes = (doc.data as Binary).buffer;
          const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          n += 1;
          yield skip > 0 ? data.subarray(skip) : data;
          skip = 0;
          if (n === last) break;
        }
      } finally {
        await cursor.close();
      }
      if (n !== last) throw new DataLossError(`artifact ${id}: GridFS holds ${n} of its ${last} chunks`);
    }
    return { meta, stream: Readable.from(read(), { objectMode: false, highWaterMark: 1 }) };
  }

  async get(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | undefined> {
    const opened = await this.open(id);
    if (!opened) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of opened.stream) chunks.push(chunk as Buffer);
    return { meta: opened.meta, data: Buffer.concat(chunks) };
  }
}

/** The bytes of `input` in pieces of exactly `size` bytes, the last one shorter (GridFS chunks). */
async function* chunkedBy(input: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of input) {
    pending.push(piece);
    pendingBytes += piece.length;
    if (pendingBytes < size) continue;
    let joined = Buffer.concat(pending, pendingBytes);
    while (joined.length >= size) {
      yield joined.subarray(0, size);
      joined = joined.subarray(size);
    }
    pending = joined.length > 0 ? [joined] : [];
    pendingBytes = joined.length;
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
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
