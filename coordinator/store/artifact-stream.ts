/**
 * Streamed artifact bytes into a store: a pass-through that hashes and counts what flows, and
 * fails the flow (before the store publishes anything) when the bytes are not what was
 * announced. Stores pipe `open()` through it into their temp file or GridFS upload; the error
 * ends the pipeline before the sink's final step (rename, files document), so a reader never
 * sees a partial or wrong artifact.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DataLossError } from '../../shared/errors.js';

/** What a streamed put must turn out to be. */
export interface ExpectedArtifact {
  size: number;
  /** 64 lowercase hex digits. */
  sha256: string;
}

export class VerifyingStream extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;

  constructor(
    private readonly id: string,
    private readonly expected: ExpectedArtifact,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expected.size) {
      done(new DataLossError(`artifact ${this.id}: more than the announced ${this.expected.size} bytes`));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.bytes !== this.expected.size) {
      done(new DataLossError(`artifact ${this.id}: ${this.bytes} bytes, announced ${this.expected.size}`));
      return;
    }
    const sha256 = this.hash.digest('hex');
    if (sha256 !== this.expected.sha256) {
      done(
        new DataLossError(`artifact ${this.id}: sha256 ${sha256} does not match the announced ${this.expected.sha256}`),
      );
      return;
    }
    done();
  }
}
