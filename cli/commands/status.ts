/**
 * `trellis status`: one experiment and its trials.
 */
import type { Command } from 'commander';
import { leaderboard, pipelineSummary, runDocument } from '../render.js';
import { coordinatorOption, exitCodeOf, print, withClient } from '../common.js';

export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show an experiment')
    .argument('<id>', 'experiment id')
    .addOption(coordinatorOption())
    .option('--wait', 'wait until it ends')
    .option('--json', 'print one JSON document on stdout')
    .action(async (id: string, opts: { coordinator: string; wait?: boolean; json?: boolean }) => {
      await withClient(opts.coordinator, async (client) => {
        const experiment = opts.wait ? await client.wait(id) : await client.get(id);
        const trials = await client.trials(id);
        print(
          !!opts.json,
          runDocument(experiment, trials),
          () =>
            (experiment.owner ? `owner: ${experiment.owner}\n` : '') +
            (experiment.kind === 'Pipeline' ? pipelineSummary(experiment) : leaderboard(experiment, trials)),
        );
        if (opts.wait) process.exitCode = exitCodeOf(experiment);
      });
    });
}
