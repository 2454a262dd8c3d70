/**
 * The tfjs runtime's checkpoint format: named tensors (shape, dtype, raw little-endian values)
 * plus a JSON `meta` document (epoch, RNG state, loss state, model signature...).
 *
 *   bytes 0..7   "TRLSCKPT"
 *   bytes 8..11  format version (u32 LE, currently 1)
 *   bytes 12..15 header length H (u32 LE)
 *   bytes 16..   header: UTF-8 JSON { meta, tensors: [{ name, dtype, shape, offset, length }] }
 *   then         the tensors' bytes, each at `offset` (relative to the data start, 8-aligned)
 */
import type * as tfType from '@tensorflow/tfjs';

const MAGIC = 'TRLSCKPT';
const VERSION = 1;

export type TensorDtype = 'float32' | 'int32' | 'bool';

export interface TensorRecord {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
}

export interface DecodedCheckpoint<M = unknown> {
  meta: M;
  tensors: TensorRecord[];
}

interface HeaderEntry {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  offset: number;
  length: number;
}

export class CheckpointFormatError extends Error {
  override readonly name = 'CheckpointFormatError';
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function encodeCheckpoint(meta: unknown, tensors: TensorRecord[]): Buffer {
  const entries: HeaderEntry[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (t.values.length !== elementCount(t.shape)) {
      throw new CheckpointFormatError(`tensor ${t.name}: ${t.values.length} values for shape [${t.shape.join(', ')}]`);
    }
    entries.push({ name: t.name, dtype: t.dtype, shape: [...t.shape], offset, length: t.values.byteLength });
    offset = align8(offset + t.values.byteLength);
  }
  const header = Buffer.from(JSON.stringify({ meta, tensors: entries }), 'utf8');
  const dataStart = align8(16 + header.length);
  const out = Buffer.alloc(dataStart + offset);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(VERSION, 8);
  out.writeUInt32LE(header.length, 12);
  header.copy(out, 16);
  tensors.forEach((t, i) => {
    const bytes = new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
    out.set(bytes, dataStart + entries[i]!.offset);
  });
  return out;
}

export function decodeCheckpoint<M = unknown>(data: Buffer | Uint8Array): DecodedCheckpoint<M> {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 16 || buf.toString('latin1', 0, 8) !== MAGIC) {
    throw new CheckpointFormatError('not a trellis tfjs checkpoint (bad magic)');
  }
  const version = buf.readUInt32LE(8);
  if (version !== VERSION) throw new CheckpointFormatError(`unsupported checkpoint version ${version}`);
  const headerLength = buf.readUInt32LE(12);
  if (16 + headerLength > buf.length) throw new CheckpointFormatError('truncated checkpoint header');
  let header: { meta: M; tensors: HeaderEntry[] };
  try {
    header = JSON.parse(buf.toString('utf8', 16, 16 + headerLength)) as { meta: M; tensors: HeaderEntry[] };
  } catch {
    throw new CheckpointFormatError('corrupt checkpoint header');
  }
  const dataStart = align8(16 + headerLength);
  const tensors = header.tensors.map((entry): TensorRecord => {
    const start = dataStart + entry.offset;
    if (start + entry.length > buf.length) throw new CheckpointFormatError(`truncated data for tensor ${entry.name}`);
    const bytes = new Uint8Array(entry.length);
    bytes.set(buf.subarray(start, start + entry.length));
    const values =
      entry.dtype === 'float32'
        ? new Float32Array(bytes.buffer)
        : entry.dtype === 'int32'
          ? new Int32Array(bytes.buffer)
          : bytes;
    if (values.length !== elementCount(entry.shape)) {
      throw new CheckpointFormatError(`tensor ${entry.name}: size does not match shape`);
    }
    return { name: entry.name, dtype: entry.dtype, shape: entry.shape, values };
  });
  return { meta: header.meta, tensors };
}

/** Reads tensors' values (async, so GPU backends are not blocked) into records. */
export async function snapshotTensors(named: Array<{ name: string; tensor: tfType.Tensor }>): Promise<TensorRecord[]> {
  const out: TensorRecord[] = [];
  for (const { name, tensor } of named) {
    const dtype = tensor.dtype;
    if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') {
      throw new CheckpointFormatError(`tensor ${name}: dtype ${dtype} cannot be checkpointed`);
    }
    const data = await tensor.data();
    const values =
      dtype === 'float32'
        ? Float32Array.from(data as Float32Array)
        : dtype === 'int32'
          ? Int32Array.from(data as Int32Array)
          : Uint8Array.from(data as Uint8Array);
    out.push({ name, dtype, shape: [...tensor.shape], values });
  }
  return out;
}

/** Makes a tensor from a record (the caller owns it). */
export function recordToTensor(tf: typeof tfType, record: TensorRecord): tfType.Tensor {
  return tf.tensor(record.values, record.shape, record.dtype);
}
