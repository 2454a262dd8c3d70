/**
 * `trellis submit`: a spec to a coordinator, optionally followed to its end.
 */
import type { Command } from 'commander';
import { runDocument } from '../render.js';
import { coordinatorOption, followAndReport, print, readSpec, withClient } from '../common.js';

export function addSubmitCommand(program: Command): void {
  program
    .command('submit')
    .description('submit a spec to a coordinator')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .addOption(coordinatorOption())
    .option('--wait', 'follow the experiment until it ends')
    .option('--json', 'print one JSON document on stdout')
    .option('--request-id <id>', 'idempotency key: a retried submit returns the same experiment')
    .option('--no-cache', 'pipelines: do not reuse cached stage outputs')
    .action(
      async (
        specPath: string,
        opts: { coordinator: string; wait?: boolean; json?: boolean; requestId?: string; cache: boolean },
      ) => {
        await withClient(opts.coordinator, async (client) => {
          const { experiment } = await client.submit(readSpec(specPath), {
            ...(opts.requestId ? { requestId: opts.requestId } : {}),
            noCache: !opts.cache,
          });
          if (opts.wait) {
            process.exitCode = await followAndReport(client, experiment, !!opts.json);
          } else {
            print(
              !!opts.json,
              { experiment: runDocument(experiment, []).experiment },
              () => `submitted ${experiment.id} (${experiment.status})`,
            );
          }
        });
      },
    );
}
