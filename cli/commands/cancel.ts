/**
 * `trellis cancel`: stops an experiment's running trials; pending ones never start.
 */
import type { Command } from 'commander';
import { runDocument } from '../render.js';
import { coordinatorOption, print, withClient } from '../common.js';

export function addCancelCommand(program: Command): void {
  program
    .command('cancel')
    .description('cancel an experiment: running trials stop, pending ones never start')
    .argument('<id>', 'experiment id')
    .addOption(coordinatorOption())
    .option('--json', 'print one JSON document on stdout')
    .action(async (id: string, opts: { coordinator: string; json?: boolean }) => {
      await withClient(opts.coordinator, async (client) => {
        const experiment = await client.cancel(id);
        print(
          !!opts.json,
          { experiment: runDocument(experiment, []).experiment },
          () => `${experiment.id}: ${experiment.status}`,
        );
      });
    });
}
