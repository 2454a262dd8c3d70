/**
 * `trellis logs`: a trial attempt's program output (stdout and stderr), as kept per attempt:
 * the first and last lines, long lines cut (docs/logs.md). `--follow` streams new lines while
 * the attempt runs and ends when it has ended.
 */
import type { Command } from 'commander';
import { logLines } from '../../shared/bounded-log.js';
import { coordinatorOption, positiveInt, withClient } from '../common.js';

export function addLogsCommand(program: Command): void {
  program
    .command('logs')
    .description("show a trial attempt's program output (stdout and stderr; first and last lines kept)")
    .argument('<trial-id>', 'trial id: EXPERIMENT_ID-tN, N the trial number `trellis trials` shows (trials --json: id)')
    .addOption(coordinatorOption())
    .option('--attempt <n>', 'attempt number (default: the latest)', positiveInt('--attempt'))
    .option('--follow', 'keep printing new lines while the attempt runs; ends when it ends')
    .action(async (trialId: string, opts: { coordinator: string; attempt?: number; follow?: boolean }) => {
      await withClient(opts.coordinator, async (client) => {
        const out = (line: string): boolean => process.stdout.write(`${line}\n`);
        if (!opts.follow) {
          const log = await client.logs(trialId, opts.attempt ?? 0);
          for (const line of logLines(log)) out(line);
          if (log.source === 'live') {
            process.stderr.write("trellis: the worker never sent this attempt's final log; shown: what arrived live\n");
          }
          return;
        }
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once('SIGINT', onSignal);
        let first = true;
        try {
          for await (const m of client.followLogs(trialId, opts.attempt ?? 0, stop.signal)) {
            // The first message is the log so far (or, for an attempt that already ended, the
            // stored log); the last one of a followed attempt repeats the stored log: not printed.
            if (m.snapshot && first) for (const line of logLines(m.snapshot)) out(line);
            first = false;
            if (m.skipped > 0) out(`…[${m.skipped} lines not shown live; \`trellis logs\` shows the kept tail]`);
            for (const line of m.lines) out(line);
          }
        } finally {
          process.off('SIGINT', onSignal);
        }
      });
    });
}
