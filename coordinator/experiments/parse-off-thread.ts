/**
 * Large spec texts are parsed on a worker thread, so that one big YAML document (the yaml parser
 * is slow on large texts) never blocks the coordinator's other calls. Small texts, nearly all of
 * them, are parsed in place, where no thread has to start.
 *
 * At most PARSE_THREADS parse at once (the rest wait their turn), and each gets PARSE_TIMEOUT_MS
 * before its thread is terminated and the spec refused.
 */
import { Worker } from 'node:worker_threads';
import { parseSpecText, SpecError } from '../../shared/spec/load.js';
import { utf8Bytes, type Limits } from '../../shared/limits.js';

/** Texts up to this size are parsed on the calling thread. */
export const PARSE_IN_PLACE_BYTES = 64 * 1024;
const PARSE_THREADS = 2;
const PARSE_TIMEOUT_MS = 30_000;

let running = 0;
const waiting: (() => void)[] = [];

async function slot(): Promise<() => void> {
  if (running >= PARSE_THREADS) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  return () => {
    running--;
    waiting.shift()?.();
  };
}

type Reply = { ok: true; doc: unknown } | { ok: false; issues?: string[]; error?: string };

/** parseSpecText, off the event loop when the text is large. Throws SpecError like it. */
export async function parseSpec(text: string, limits: Limits): Promise<unknown> {
  const bytes = utf8Bytes(text);
  // Over the size limit, parseSpecText refuses at once without parsing: no thread needed.
  if (bytes <= PARSE_IN_PLACE_BYTES || bytes > limits.maxSpecBytes) return parseSpecText(text, limits);
  const release = await slot();
  try {
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
  } finally {
    release();
  }
}
