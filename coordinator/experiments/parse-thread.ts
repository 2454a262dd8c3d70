/**
 * The body of a spec-parsing worker thread (see parse-off-thread.ts): parses one text with the
 * limits it is given and posts back the document, or the refusal's issues.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseSpecText, SpecError } from '../../shared/spec/load.js';
import type { Limits } from '../../shared/limits.js';

const { text, limits } = workerData as { text: string; limits: Limits };
try {
  parentPort!.postMessage({ ok: true, doc: parseSpecText(text, limits) });
} catch (err) {
  parentPort!.postMessage(
    err instanceof SpecError ? { ok: false, issues: err.issues } : { ok: false, error: (err as Error).message },
  );
}
