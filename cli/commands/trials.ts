/**
 * `trellis trials`: an experiment's trials.
 */
import type { Command } from 'commander';
import { describeTrials, trialsDocument } from '../render.js';
import { coordinatorOption, print, withClient } from '../common.js';

export function addTrialsCommand(program: Command): void {
  program
    .command('trials')
    .description("list an experiment's trials")
    .argument('<id>', 'experiment id')
    .addOption(coordinatorOption())
    .option('--json', 'print one JSON document on stdout')
    .action(async (id: string, opts: { coordinator: string; json?: boolean }) => {
      await withClient(opts.coordinator, async (client) => {
        const trials = await client.trials(id);
        print(!!opts.json, { trials: trialsDocument(trials) }, () => describeTrials(trials));
      });
    });
}
