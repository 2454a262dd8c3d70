/**
 * Bounded program output (`trellis logs`): long lines cut (never buffered whole) with a marker,
 * head + tail kept with exact counts of what was omitted, a live budget on what the worker
 * streams, and env values redacted from text.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BoundedLog,
  clampLines,
  cutLine,
  formatBytes,
  HEAD_BYTES,
  LINE_CHARS,
  logLines,
  TAIL_BYTES,
} from '../../shared/bounded-log.js';
import { LineSplitter, MAX_LINE_CHARS } from '../../worker/runtimes/command/output.js';
import { AttemptOutputStream, LIVE_BYTES } from '../../worker/output-stream.js';
import type { WorkerMessage } from '../../shared/generated/trellis/v1/WorkerMessage.js';
import { REDACTED, redactText, secretValues } from '../../shared/redact.js';

describe('bounded program output', () => {
  it('LineSplitter keeps the first MAX_LINE_CHARS of a huge line and counts the rest', () => {
    const lines: [string, number][] = [];
    const splitter = new LineSplitter((line, cut) => lines.push([line, cut]));
    const chunk = Buffer.alloc(64 * 1024, 'y');
    for (let i = 0; i < 48; i++) splitter.push(chunk); // 3 MiB, no newline
    splitter.push(Buffer.from('\r\nnext\nlast'));
    splitter.end();
    assert.equal(lines.length, 3);
    assert.equal(lines[0]![0].length, MAX_LINE_CHARS);
    assert.equal(lines[0]![1], 3 * 1024 * 1024 - MAX_LINE_CHARS + 1, 'the cut bytes (with the \\r of the line)');
    assert.deepEqual(lines.slice(1), [
      ['next', 0],
      ['last', 0],
    ]);
  });

  it('cutLine cuts to LINE_CHARS and says how much was cut', () => {
    assert.equal(cutLine('short'), 'short');
    const long = 'z'.repeat(LINE_CHARS + 1000);
    assert.equal(cutLine(long), `${'z'.repeat(LINE_CHARS)}…[cut 1.0 kB]`);
    assert.equal(cutLine('abc', 52_428_800), 'abc…[cut 52.4 MB]');
    assert.equal(formatBytes(999), '999 B');
    assert.equal(formatBytes(1_500_000_000), '1.5 GB');
  });

  it('BoundedLog keeps a contiguous head and tail within their budgets, counting what is between', () => {
    const log = new BoundedLog();
    const total = 20_000;
    for (let i = 0; i < total; i++) log.push(`line ${String(i).padStart(6, '0')}`);
    const s = log.snapshot();
    const bytes = (lines: string[]): number => lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    assert.ok(bytes(s.head) <= HEAD_BYTES && bytes(s.head) > HEAD_BYTES - 20);
    assert.ok(bytes(s.tail) <= TAIL_BYTES && bytes(s.tail) > TAIL_BYTES - 20);
    assert.equal(s.totalLines, total);
    assert.equal(s.head.length + s.omittedLines + s.tail.length, total);
    assert.equal(s.head[0], 'line 000000');
    assert.equal(s.head.at(-1), `line ${String(s.head.length - 1).padStart(6, '0')}`);
    assert.equal(s.tail[0], `line ${String(s.head.length + s.omittedLines).padStart(6, '0')}`);
    assert.equal(s.tail.at(-1), `line ${String(total - 1).padStart(6, '0')}`);
    assert.equal(logLines(s)[s.head.length], `…[${s.omittedLines} lines (${formatBytes(s.omittedBytes)}) omitted]`);
  });

  it('clampLines bounds lines received from elsewhere: cut, then the first or last within a budget', () => {
    const lines = ['a'.repeat(10), 'b'.repeat(LINE_CHARS + 5), 'c'.repeat(10)];
    assert.deepEqual(clampLines(lines, 11), ['a'.repeat(10)]);
    assert.equal(clampLines(lines, 1 << 20)[1], lines[1], 'within the marker room: as is');
    assert.deepEqual(clampLines(lines, 11, true), ['c'.repeat(10)]);
    const lines2 = ['a'.repeat(10), 'b'.repeat(LINE_CHARS + 40), 'c'.repeat(10)];
    const all = clampLines(lines2, 1 << 20);
    assert.equal(all[1], `${'b'.repeat(LINE_CHARS)}…[cut 40 B]`);
    assert.equal(all.length, 3);
    const cutAlready = cutLine('d'.repeat(LINE_CHARS + 5), 52_000_000);
    assert.deepEqual(clampLines([cutAlready], 1 << 20), [cutAlready], 'a line cut by the sender is kept as sent');
  });

  it('a short log is kept whole, without a marker', () => {
    const log = new BoundedLog();
    for (const line of ['a', 'b', 'c']) log.push(line);
    assert.deepEqual(logLines(log.snapshot()), ['a', 'b', 'c']);
  });

  it('the worker streams at most LIVE_BYTES per flush, and then the whole kept log once', async () => {
    const sent: WorkerMessage[] = [];
    const stream = new AttemptOutputStream('att-1', (m) => sent.push(m));
    const line = 'o'.repeat(99);
    for (let i = 0; i < 1000; i++) stream.line(line); // 100 kB at once
    stream.line('x'.repeat(LINE_CHARS * 2)); // cut
    stream.finish();
    stream.finish(); // idempotent
    assert.equal(sent.length, 2);
    const live = sent[0]!.output!;
    const liveBytes = (live.lines ?? []).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    assert.ok(liveBytes <= LIVE_BYTES, `${liveBytes} bytes sent live`);
    assert.equal((live.lines ?? []).length + Number(live.skipped_lines), 1001);
    const final = sent[1]!.output!;
    assert.equal(final.final, true);
    assert.equal(Number(final.total_lines), 1001);
    assert.equal(Number(final.total_bytes), 1000 * 100 + LINE_CHARS * 2 + 1);
    assert.equal(final.tail?.at(-1), `${'x'.repeat(LINE_CHARS)}…[cut 8.2 kB]`);
    stream.line('after the end');
    assert.equal(sent.length, 2, 'nothing after finish');
    const silent: WorkerMessage[] = [];
    new AttemptOutputStream('att-2', (m) => silent.push(m)).finish();
    assert.deepEqual(silent, [], 'no output, no log (tfjs attempts store nothing)');
  });

  it('redacts the values of every env map in a spec from text, longest first; leaves short and templated ones', () => {
    const spec = {
      trial: { env: { API_KEY: 'sk-abcdef', SHORT: 'abc', LR: '${params.lr}', PREFIX: 'sk-abc' } },
      stages: [{ trial: { env: { TOKEN: 'tok-12345' } } }],
    };
    const secrets = secretValues(spec);
    assert.deepEqual(secrets, ['sk-abcdef', 'tok-12345', 'sk-abc']);
    assert.equal(
      redactText('key sk-abcdef, token tok-12345, prefix sk-abc, abc', secrets),
      `key ${REDACTED}, token ${REDACTED}, prefix ${REDACTED}, abc`,
    );
  });
});
