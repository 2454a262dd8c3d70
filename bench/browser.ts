/**
 * Debian's chromium driven by playwright-core (no browser download), for the dashboard's bench
 * and browser tests: headless, sandbox off (tests run as root), no background networking, a fresh
 * profile per launch. scripts/test.mjs installs chromium when missing and sets TRELLIS_CHROMIUM.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { env } from '../shared/env.js';
import { ASSETS_DIR } from '../coordinator/http/server.js';

export const CHROMIUM = env().TRELLIS_CHROMIUM;
/** Where the browser tests write their screenshots (docs/screenshots holds a few committed ones). */
export const SCREENSHOTS = fileURLToPath(new URL('../screenshots/', import.meta.url));

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `chromium not found at ${CHROMIUM}: run the tests with npm test (it installs it) or set TRELLIS_CHROMIUM`,
    );
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'trellis-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** What a page holds after a full garbage collection, from Chrome (DOM nodes: detached ones included). */
export interface PageMemory {
  heap_mb: number;
  dom_nodes: number;
  attached_elements: number;
}

export async function memoryOf(page: Page): Promise<PageMemory> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('Performance.enable');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const get = (name: string): number => metrics.find((m) => m.name === name)?.value ?? NaN;
    const attached = await page.evaluate(
      () =>
        (
          globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
        ).document.querySelectorAll('*').length,
    );
    return {
      heap_mb: Math.round((get('JSHeapUsedSize') / 2 ** 20) * 100) / 100,
      dom_nodes: get('Nodes'),
      attached_elements: attached,
    };
  } finally {
    await cdp.detach();
  }
}

/** How a heap snapshot names DOM nodes: by their markup (`<div class="…">`) or their kind. */
const DOM_NODE =
  /^(<[a-z]|Text$|Comment$|CDATASection$|HTMLDocument$|Document$|DocumentFragment$|ShadowRoot$|DocumentType$|Detached )/i;

export interface SnapshotMemory {
  data_mb: number;
  /** V8's own objects only (not Blink's native ones such as DOM, layout and timeline entries). */
  js_mb: number;
  code_mb: number;
  snapshot_dom_nodes: number;
  detached_nodes: number;
}

/** A V8 heap snapshot as Chrome DevTools writes it (`.heapsnapshot`): flat arrays of node fields. */
export interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** The page's heap after a full garbage collection. */
export async function heapSnapshot(page: Page): Promise<HeapSnapshot> {
  const cdp = await page.context().newCDPSession(page);
  const chunks: string[] = [];
  cdp.on('HeapProfiler.addHeapSnapshotChunk', (e) => chunks.push(e.chunk));
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  } finally {
    await cdp.detach();
  }
  return JSON.parse(chunks.join('')) as HeapSnapshot;
}

/**
 * A heap snapshot's self sizes summed: `data_mb` is everything the page's objects hold (JS objects,
 * strings, arrays, DOM and other native objects), `code_mb` the compiled code V8 keeps for the
 * functions that ran. JSHeapUsedSize counts both; a page that has run its live path for a while
 * holds more compiled code than a fresh one without holding more data, so leaks are judged on
 * `data_mb`. `js_mb` is the part of `data_mb` in V8's own objects (what the page's script holds):
 * Blink's native objects include buffers Chrome bounds itself (the performance timeline keeps the
 * first 150 layout shifts, 200 long animation frames…) that a page which has run for a while holds
 * and a fresh one does not. The snapshot also says which DOM nodes are still reachable (`snapshot_dom_nodes`) and
 * which of those are detached from the document yet kept alive from JavaScript (`detached_nodes`,
 * Chrome's detachedness field). Chrome's `Nodes` counter (memoryOf) is read after the collection,
 * so on a busy page it also counts nodes made since and not yet freed (on a test page replacing
 * 2,500 nodes a second, 9 to 409 over 5 reads, with 5 elements in the document).
 */
export async function snapshotOf(page: Page): Promise<SnapshotMemory> {
  const snapshot = await heapSnapshot(page);
  const { node_fields: fields, node_types: types } = snapshot.snapshot.meta;
  const type = fields.indexOf('type');
  const size = fields.indexOf('self_size');
  const name = fields.indexOf('name');
  const detachedness = fields.indexOf('detachedness');
  const code = types[0].indexOf('code');
  const native = types[0].indexOf('native');
  let data = 0;
  let js = 0;
  let compiled = 0;
  let dom = 0;
  let detached = 0;
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    if (snapshot.nodes[i + type] === code) compiled += snapshot.nodes[i + size]!;
    else data += snapshot.nodes[i + size]!;
    if (snapshot.nodes[i + type] !== native && snapshot.nodes[i + type] !== code) js += snapshot.nodes[i + size]!;
    if (snapshot.nodes[i + type] !== native) continue;
    if (!DOM_NODE.test(snapshot.strings[snapshot.nodes[i + name]!]!)) continue;
    dom++;
    if (detachedness >= 0 && snapshot.nodes[i + detachedness] === 2) detached++;
  }
  const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 100) / 100;
  return { data_mb: mb(data), js_mb: mb(js), code_mb: mb(compiled), snapshot_dom_nodes: dom, detached_nodes: detached };
}

/**
 * The dashboard bundle the coordinator serves (dist/web/app.js), refused when it is older than a
 * source it is built from (web/src, shared/): `node dist/bench/…` does not rebuild it, and a stale
 * bundle measures old code (the 45-minute soak of 2026-11-30 served one built before the
 * leaderboard fix). Returns its hash and build time for the result.
 */
export function freshBundle(root: string): { sha256: string; built: string } {
  const bundle = join(ASSETS_DIR, 'app.js');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build`);
  const built = statSync(bundle).mtimeMs;
  const newer = [join(root, 'web', 'src'), join(root, 'shared')].flatMap((dir) =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .map((file) => join(dir, file))
      .filter((file) => /\.(ts|css)$/.test(file) && statSync(file).mtimeMs > built)
      .map((file) => relative(root, file)),
  );
  if (newer.length > 0) {
    throw new Error(`${bundle} is older than ${newer.slice(0, 3).join(', ')}: run npm run build`);
  }
  const sha256 = createHash('sha256').update(readFileSync(bundle)).digest('hex').slice(0, 16);
  return { sha256, built: new Date(built).toISOString() };
}
