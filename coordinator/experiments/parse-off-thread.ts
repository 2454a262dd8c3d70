/**
 * Large spec texts are parsed on a worker thread, so that one big YAML document (the yaml parser
 * is slow on large texts) never blocks the coordinator's other calls. Small texts, nearly all of
 * them, are parsed in place, where no thread has to start.
 *
 * At most PARSE_THREADS parse at once (a p-queue), at most PARSE_WAITING more wait their turn
 * (past that the submit is refused with RESOURCE_EXHAUSTED, never queued without bound), and each
 * gets PARSE_TIMEOUT_MS before its thread is terminated and the spec refused.
 */
import { Worker } from 'node:worker_threads';
import PQueue from 'p-queue';
import { parseSpecText, SpecError } from '../../shared/spec/load.js';
import { utf8Bytes, type Limits } from '../../shared/limits.js';
import { ResourceExhaustedError } from '../../shared/errors.js';

/** Texts up to this size are parsed on the calling thread. */
export const PARSE_IN_PLACE_BYTES = 64 * 1024;
export const PARSE_THREADS = 2;
/** Large specs waiting for a parse thread, at most. */
export const PARSE_WAITING = 16;
const PARSE_TIMEOUT_MS = 30_000;

const threads = new PQueue({ concurrency: PARSE_THREADS });

type Reply = { ok: true; doc: unknown } | { ok: false; issues?: string[]; error?: string };

/** parseSpecText, off the event loop when the text is large. Throws SpecError like it. */
export async function parseSpec(text: string, limits: Limits): Promise<unknown> {
  const bytes = utf8Bytes(text);
  // Over the size limit, parseSpecText refuses at once without parsing: no thread needed.
  if (bytes <= PARSE_IN_PLACE_BYTES || bytes > limits.maxSpecBytes) return parseSpecText(text, limits);
  if (threads.size >= PARSE_WAITING) {
    throw new ResourceExhaustedError(
      `spec: ${threads.pending + threads.size} large specs (over ${PARSE_IN_PLACE_BYTES} bytes) are being parsed or wait; at most ${PARSE_THREADS + PARSE_WAITING}: retry later`,
    );
  }
  return threads.add(() => parseOnThread(text, limits));
}

async function parseOnThread(text: string, limits: Limits): Promise<unknown> {
  const reply = await new Promise<Reply>((resolve, reject) => {
    const worker = new Worker(new URL('./parse-thread.js', import.meta.url), { workerData: { text, limits } });
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve({
        ok: false,
        issues: [`spec: parsing took more than ${PARSE_TIMEOUT_MS / 1000} s; send a smaller spec`],
      });
    }, PARSE_TIMEOUT_MS);
    worker.once('message', (message: Reply) => {
      clearTimeout(timer);
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  if (reply.ok) return reply.doc;
  if (reply.issues) throw new SpecError(reply.issues);
  throw new Error(`spec parser thread failed: ${reply.error ?? 'unknown error'}`);
}
