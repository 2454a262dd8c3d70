/**
 * `trellis watch`: an experiment's event stream until it ends (the reading is in ../watch.ts).
 */
import type { Command } from 'commander';
import { coordinatorOption } from '../common.js';

export function addWatchCommand(program: Command): void {
  program
    .command('watch')
    .description("follow an experiment's event stream until it ends")
    .argument('<id>', 'experiment id')
    .addOption(coordinatorOption())
    .option('--from-start', 'replay the whole history first')
    .option('--json', 'one event per line (JSON) on stdout')
    .action(async (id: string, opts: { coordinator: string; fromStart?: boolean; json?: boolean }) => {
      const { watchEvents } = await import('../watch.js');
      process.exitCode = await watchEvents(id, {
        coordinator: opts.coordinator,
        fromStart: !!opts.fromStart,
        json: !!opts.json,
      });
    });
}
