/**
 * `trellis list`: the experiments, optionally of some statuses.
 */
import type { Command } from 'commander';
import type { ExperimentView } from '../../shared/convert.js';
import { coordinatorOption, print, withClient } from '../common.js';

export function addListCommand(program: Command): void {
  program
    .command('list')
    .description('list experiments')
    .addOption(coordinatorOption())
    .option('--status <statuses>', 'comma-separated statuses to show')
    .option('--json', 'print one JSON document on stdout')
    .action(async (opts: { coordinator: string; status?: string; json?: boolean }) => {
      await withClient(opts.coordinator, async (client) => {
        const experiments = await client.list((opts.status?.split(',') ?? []) as ExperimentView['status'][]);
        print(
          !!opts.json,
          {
            experiments: experiments.map((e) => ({
              id: e.id,
              name: e.name,
              kind: e.kind,
              status: e.status,
              ...(e.owner ? { owner: e.owner } : {}),
              trials: e.trialsCreated,
            })),
          },
          () =>
            experiments
              .map((e) => `${e.id}  ${e.kind}  ${e.status}  ${e.trialsCreated} trials  owner ${e.owner ?? '-'}`)
              .join('\n') || 'no experiments',
        );
      });
    });
}
