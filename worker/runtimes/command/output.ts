/**
 * Reading a program's stdout: bytes into lines, lines into metric reports (the format is in
 * docs/programs.md).
 */
import { StringDecoder } from 'node:string_decoder';
import { cutLine } from '../../../shared/bounded-log.js';

/**
 * A line longer than this is cut: its first MAX_LINE_CHARS characters are kept and the rest is
 * dropped as it arrives (counted, never buffered), so a program printing 50 MB without a newline
 * costs the worker 1 MiB.
 */
export const MAX_LINE_CHARS = 1 << 20;

/**
 * Splits a byte stream into lines (\n or \r\n), across chunk and UTF-8 character boundaries.
 * `onLine` gets each line and how many bytes of it were cut (0 for a whole line).
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  /** Bytes of the current line dropped past MAX_LINE_CHARS. */
  private cut = 0;

  constructor(private readonly onLine: (line: string, cutBytes: number) => void) {}

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline < 0) break;
      this.take(text.slice(start, newline));
      this.emit(true);
      start = newline + 1;
    }
    this.take(text.slice(start));
  }

  /** Emits what is left (a last line without a newline). */
  end(): void {
    this.take(this.decoder.end());
    if (this.buffer.length > 0 || this.cut > 0) this.emit(false);
  }

  /** Appends a piece of the current line, keeping at most MAX_LINE_CHARS of it. */
  private take(piece: string): void {
    const room = MAX_LINE_CHARS - this.buffer.length;
    if (piece.length <= room) {
      this.buffer += piece;
      return;
    }
    this.buffer += piece.slice(0, Math.max(0, room));
    this.cut += Buffer.byteLength(piece.slice(Math.max(0, room)));
  }

  private emit(atNewline: boolean): void {
    let line = this.buffer;
    if (line.endsWith('\r') && (atNewline || this.cut === 0)) line = line.slice(0, -1);
    const cut = this.cut;
    this.buffer = '';
    this.cut = 0;
    this.onLine(line, cut);
  }
}

export interface ParsedLine {
  /** Finite numeric fields, without the one used as the step. */
  metrics: Record<string, number>;
  step?: number;
  checkpoint: boolean;
  final: boolean;
  /** A line `{"outputs": {...}}`: the stage outputs a pipeline's later stages may reference. */
  outputs?: Record<string, unknown>;
  /** Fields whose value was NaN or ±Infinity (dropped). */
  nonFinite: string[];
}

/** Replaces bare NaN / Infinity / -Infinity tokens (outside strings) by null, as Python's json writes them. */
function replaceNonFiniteTokens(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const rest = text.slice(i, i + 9);
    const token = rest.startsWith('-Infinity')
      ? '-Infinity'
      : rest.startsWith('Infinity')
        ? 'Infinity'
        : rest.startsWith('NaN')
          ? 'NaN'
          : undefined;
    if (token) {
      out += `{"__nonfinite":"${token}"}`;
      i += token.length;
      continue;
    }
    out += ch;
    i += 1;
  }
  return out;
}

/** True for a line that starts with `{`: meant as a report, so one that does not parse is counted (a cut line too). */
export function looksLikeJsonObject(line: string): boolean {
  return line.trimStart().startsWith('{');
}

/** Lines of output (stdout and stderr) kept to quote when a program never reported its objective. */
const OUTPUT_TAIL_LINES = 20;
/** Malformed JSON-looking lines quoted (the rest are only counted). */
const MALFORMED_SHOWN = 3;

/** Parses a stdout line; undefined when it is not a JSON object (then it is a log line). */
export function parseMetricLine(line: string): ParsedLine | undefined {
  const text = line.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    try {
      record = JSON.parse(replaceNonFiniteTokens(text));
    } catch {
      return undefined;
    }
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
  const fields = record as Record<string, unknown>;
  const isNonFinite = (value: unknown): boolean =>
    typeof value === 'object' && value !== null && '__nonfinite' in value && Object.keys(value).length === 1;
  const numeric = (value: unknown): number | undefined =>
    typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  const stepKey =
    numeric(fields.step) !== undefined ? 'step' : numeric(fields.epoch) !== undefined ? 'epoch' : undefined;
  const parsed: ParsedLine = {
    metrics: {},
    checkpoint: fields.checkpoint === true,
    final: fields.final === true,
    nonFinite: [],
  };
  if (stepKey) parsed.step = fields[stepKey] as number;
  const outputs = fields.outputs;
  if (outputs && typeof outputs === 'object' && !Array.isArray(outputs))
    parsed.outputs = outputs as Record<string, unknown>;
  const take = (entries: [string, unknown][]): void => {
    for (const [key, value] of entries) {
      const number = numeric(value);
      if (number !== undefined) parsed.metrics[key] = number;
      else if (isNonFinite(value)) parsed.nonFinite.push(key);
    }
  };
  const reserved = new Set([stepKey, 'step', 'outputs', 'metrics']);
  take(Object.entries(fields).filter(([key]) => !reserved.has(key)));
  // `{"metrics": {...}, "step": N}` is the same report as the flat form.
  const nested = fields.metrics;
  if (nested && typeof nested === 'object' && !Array.isArray(nested)) take(Object.entries(nested));
  return parsed;
}

/**
 * What a program's stdout adds up to: reports (each step once, counting on from the last step
 * when a line names none), the result's metrics, stage outputs and checkpoint requests. Any line
 * that is not a JSON object goes to the trial log.
 */
export class ProgramOutput {
  /** The last reported metrics overlaid with the `final` ones: the result's metrics. */
  readonly finalMetrics: Record<string, number> = {};
  readonly stageOutputs: Record<string, unknown> = {};
  /** The highest step seen (reported or named), or the resume step before any. */
  lastStep: number | undefined;
  /** The last lines of stdout and stderr (each cut at 500 characters). */
  readonly tail: string[] = [];
  /** Lines that start with `{` but do not parse: how many, and the first few. */
  readonly malformed = { count: 0, first: [] as string[] };
  /** Set when the objective was reported non-finite: the reason the attempt diverged. */
  diverged: string | undefined;

  constructor(
    private readonly sink: {
      resumeStep: number | undefined;
      /** trial.objective.metric: a non-finite value of it means the training diverged. */
      objective: string | undefined;
      /** Called once when the objective goes non-finite (the runtime stops the program). */
      onDiverged(reason: string): void;
      report(step: number, metrics: Record<string, number>): void;
      log(line: string): void;
      /** A `{"checkpoint": true}` line, with its step (or the last step). */
      checkpoint(step: number): void;
    },
  ) {
    this.lastStep = sink.resumeStep;
  }

  /** Keeps a line of stdout or stderr for the tail quoted in errors. */
  readonly remember = (line: string, cutBytes = 0): void => {
    this.tail.push(line.length > 500 || cutBytes > 0 ? `${line.slice(0, 500)}…` : line);
    if (this.tail.length > OUTPUT_TAIL_LINES) this.tail.shift();
  };

  /** A stdout line; `cutBytes` > 0: the line was cut (too long), so it is never a report. */
  readonly onLine = (line: string, cutBytes = 0): void => {
    this.remember(line, cutBytes);
    const parsed = cutBytes > 0 ? undefined : parseMetricLine(line);
    if (!parsed) {
      if (looksLikeJsonObject(line)) {
        this.malformed.count += 1;
        if (this.malformed.first.length < MALFORMED_SHOWN) this.malformed.first.push(line.slice(0, 500));
        this.sink.log(`malformed metric line (not JSON) #${this.malformed.count}: ${cutLine(line, cutBytes)}`);
      } else this.sink.log(cutLine(line, cutBytes));
      return;
    }
    if (parsed.nonFinite.length > 0) {
      this.sink.log(`non-finite metric values dropped (${parsed.nonFinite.join(', ')}): ${cutLine(line)}`);
      const objective = this.sink.objective;
      if (objective && parsed.nonFinite.includes(objective) && this.diverged === undefined) {
        this.diverged = `training diverged: the objective ${objective} is not finite (${line.trim().slice(0, 300)})`;
        this.sink.onDiverged(this.diverged);
      }
    }
    if (parsed.outputs) Object.assign(this.stageOutputs, parsed.outputs);
    const hasMetrics = Object.keys(parsed.metrics).length > 0;
    if (parsed.final) {
      Object.assign(this.finalMetrics, parsed.metrics);
    } else if (hasMetrics) {
      const step = parsed.step ?? (this.lastStep ?? 0) + 1;
      this.sink.report(step, parsed.metrics);
      Object.assign(this.finalMetrics, parsed.metrics);
      if (this.lastStep === undefined || step > this.lastStep) this.lastStep = step;
    } else if (
      parsed.step !== undefined &&
      !parsed.checkpoint &&
      (this.lastStep === undefined || parsed.step > this.lastStep)
    ) {
      this.lastStep = parsed.step;
    }
    if (parsed.checkpoint) this.sink.checkpoint(parsed.step ?? this.lastStep ?? 0);
  };
}
