/**
 * A small RFC 4180 CSV reader: quoted fields (with `""` escapes and embedded commas and line
 * breaks), LF / CRLF / CR line endings, a UTF-8 byte-order mark, blank lines skipped.
 *
 * `readCsvTable` adds header handling: a file normally starts with a header line; a built-in
 * dataset may come without one (optdigits as distributed by UCI), in which case its known column
 * names are used when the first row is all numeric.
 */
import { PermanentRunError, type DataSandbox } from '../runtimes/base.js';
import { defaultDataSandbox, readDatasetFile } from './sandbox.js';

export interface CsvTable {
  /** Column names (from the header line, or the built-in defaults for a header-less file). */
  columns: string[];
  /** Data rows; every row has `columns.length` fields. */
  rows: string[][];
  /** Whether the file had a header line. */
  hadHeader: boolean;
  /** 1-based line number in the file of each data row (for messages). */
  lines: number[];
}

export interface ParsedCsv {
  rows: string[][];
  /** 1-based line where each row starts. */
  lines: number[];
}

/** Splits CSV text into rows of fields. Unquoted fields are trimmed; blank lines are skipped. */
export function parseCsv(text: string, delimiter = ','): ParsedCsv {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: string[][] = [];
  const lines: number[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false; // the current field was (at least partly) quoted
  let inQuotes = false;
  let line = 1;
  let rowLine = 1;
  let fieldStarted = false;
  let quotedRow = false; // some field of the current row was quoted (so the row is not blank)

  const endField = (): void => {
    row.push(quoted ? field : field.trim());
    field = '';
    quoted = false;
    fieldStarted = false;
  };
  const endRow = (): void => {
    endField();
    // A blank line gives one empty unquoted field: skip it.
    if (!(row.length === 1 && row[0] === '' && !quotedRow)) {
      rows.push(row);
      lines.push(rowLine);
    }
    row = [];
    quotedRow = false;
  };

  const n = text.length;
  for (let i = 0; i < n; i++) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else {
        if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && !fieldStarted) {
      // Opening quote (leading whitespace before it is dropped).
      inQuotes = true;
      quoted = true;
      quotedRow = true;
      fieldStarted = true;
      field = '';
      continue;
    }
    if (ch === delimiter) {
      endField();
      continue;
    }
    if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
      continue;
    }
    if (quoted) {
      // Characters after a closing quote: keep them (lenient), except whitespace.
      if (ch.trim() !== '') field += ch;
      continue;
    }
    if (ch.trim() !== '') fieldStarted = true;
    field += ch;
  }
  if (inQuotes) throw new Error(`unterminated quoted field starting on line ${rowLine}`);
  if (field !== '' || row.length > 0 || quoted) endRow();
  return { rows, lines };
}

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** True for a plain decimal number (no hex, no Infinity). */
export function isNumeric(value: string): boolean {
  return NUMBER_RE.test(value.trim());
}

export interface ReadCsvOptions {
  /** Column names for a header-less file (built-in datasets); used when the first row is all numeric. */
  defaultColumns?: string[];
  /** What to call the file in messages (default: the path). */
  displayName?: string;
  /** The worker's rules for data files (default: the default roots and size limit). */
  sandbox?: DataSandbox;
  /** A built-in dataset's file: exempt from the roots rule, and its header may be quoted in messages. */
  builtin?: boolean;
}

/** Reads a CSV file into a table; errors are PermanentRunErrors naming the file. */
export function readCsvTable(path: string, options: ReadCsvOptions = {}): CsvTable {
  const name = options.displayName ?? path;
  const sandbox = options.sandbox ?? defaultDataSandbox();
  const text = readDatasetFile(path, sandbox, options.builtin ?? false).toString('utf8');
  let parsed: ParsedCsv;
  try {
    parsed = parseCsv(text);
  } catch (err) {
    throw new PermanentRunError(`${name}: ${(err as Error).message}`);
  }
  return tableFromRows(parsed, name, options.defaultColumns, options.builtin ?? false);
}

/**
 * Header detection and field-count checks over parsed rows. `quotable`: the file's contents may
 * appear in messages (built-ins); otherwise messages give positions and counts only.
 */
export function tableFromRows(parsed: ParsedCsv, name: string, defaultColumns?: string[], quotable = true): CsvTable {
  const { rows, lines } = parsed;
  const first = rows[0];
  if (!first) throw new PermanentRunError(`dataset file ${name} is empty`);
  const headerless = defaultColumns !== undefined && first.every((cell) => isNumeric(cell));
  let columns: string[];
  let dataRows: string[][];
  let dataLines: number[];
  if (headerless) {
    columns = [...defaultColumns];
    dataRows = rows;
    dataLines = lines;
  } else {
    columns = first.map((cell, i) => (cell === '' ? `column ${i + 1}` : cell));
    dataRows = rows.slice(1);
    dataLines = lines.slice(1);
    const seen = new Set<string>();
    for (const column of columns) {
      if (seen.has(column))
        throw new PermanentRunError(
          quotable
            ? `${name}: duplicate column name "${column}" in the header line`
            : `${name}: duplicate column name in the header line (column ${columns.indexOf(column) + 1} and a later one)`,
        );
      seen.add(column);
    }
  }
  for (let r = 0; r < dataRows.length; r++) {
    const row = dataRows[r]!;
    if (row.length !== columns.length) {
      throw new PermanentRunError(
        `${name}:${dataLines[r]}: expected ${columns.length} fields (as in the ${headerless ? 'dataset definition' : 'header'}), got ${row.length}`,
      );
    }
  }
  return { columns, rows: dataRows, hadHeader: !headerless, lines: dataLines };
}
