/**
 * `trellis store check|repair DIR`: the recovery commands for a LocalStore directory that does
 * not start (coordinator/store/local-repair.ts). DIR is the store directory (holding
 * journal.jsonl) or the state directory above it (`--dir` of run/coordinator, holding store/).
 *
 * Exit codes: check 0 when the store would start, 1 when it has problems; repair 0 when the
 * journal is readable afterwards, 1 when it refused (a live process holds the LOCK, a journal
 * of a newer build); 2 when DIR holds no journal.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { JOURNAL } from '../../coordinator/store/local-journal.js';
import { checkStore, repairStore, StoreNotFoundError, type CheckReport } from '../../coordinator/store/local-repair.js';
import { print, UsageError } from '../common.js';

/** The store directory: DIR itself, or DIR/store when that is where the journal is. */
function storeDir(dir: string): string {
  const given = resolve(dir);
  if (!existsSync(join(given, JOURNAL)) && existsSync(join(given, 'store', JOURNAL))) return join(given, 'store');
  return given;
}

async function usage<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof StoreNotFoundError) throw new UsageError(err.message);
    throw err;
  }
}

function summary(r: CheckReport): string {
  const kinds = Object.entries(r.records)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const total = Object.values(r.records).reduce((a, b) => a + b, 0);
  return `${r.journal}: ${r.lines} lines, ${total} readable records (${kinds || 'none'})`;
}

function problemLines(r: CheckReport): string[] {
  const out = r.problems.map((p) => `  ${r.journal}:${p.line}: ${p.reason}`);
  if (r.torn) out.push(`  ${r.journal}:${r.torn.line}: ${r.torn.reason} (tolerated: dropped at start)`);
  return out;
}

export function addStoreCommand(program: Command): void {
  const store = program
    .command('store')
    .description('check or repair a local store directory that does not start (corrupt journal)');
  store
    .command('check')
    .description('read the journal and report its records and every problem with file:line (exit 1 on problems)')
    .argument('<dir>', 'the store directory (holding journal.jsonl), or the state directory above it')
    .option('--json', 'print one JSON document on stdout')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const report = await usage(checkStore(storeDir(dir)));
      const ok = report.problems.length === 0;
      print(!!opts.json, { ok, ...report }, () =>
        [
          summary(report),
          ...problemLines(report),
          ok
            ? 'ok: the store starts'
            : report.problems.some((p) => p.line === 1 && p.reason.startsWith('header says '))
              ? 'the journal was written by another format or a newer build: open it with that build (repair refuses it)'
              : `${report.problems.length} problem line(s): the store will not start; ` +
                `\`trellis store repair ${dir}\` moves them aside and keeps the rest`,
        ].join('\n'),
      );
      process.exitCode = ok ? 0 : 1;
    });
  store
    .command('repair')
    .description(
      'move unreadable journal lines aside into a dated file next to the journal, keep the rest (nothing deleted)',
    )
    .argument('<dir>', 'the store directory (holding journal.jsonl), or the state directory above it')
    .option('--json', 'print one JSON document on stdout')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const report = await usage(
        repairStore(storeDir(dir), (message, fields) =>
          process.stderr.write(`trellis: ${message} ${JSON.stringify(fields)}\n`),
        ),
      );
      print(!!opts.json, report, () =>
        report.moved.length === 0
          ? `${summary(report)}\nnothing to repair: every line is readable`
          : [
              summary(report),
              `kept ${report.kept} lines; moved ${report.moved.length} aside to ${report.asideFile}:`,
              ...report.moved.map((m) => `  line ${m.line}: ${m.reason}`),
              `the journal as it was: ${report.backupFile}`,
            ].join('\n'),
      );
    });
}
