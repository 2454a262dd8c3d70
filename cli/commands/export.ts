/**
 * `trellis export`: an experiment's trials or per-step metrics as CSV or JSON (the rows are made in
 * ../export.ts).
 */
import { Option, type Command } from 'commander';
import { coordinatorOption, withClient } from '../common.js';

export function addExportCommand(program: Command): void {
  program
    .command('export')
    .description("export an experiment's trials (params and final metrics), or per-step metrics with --steps")
    .argument('<id>', 'experiment id')
    .addOption(coordinatorOption())
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .option('--steps', 'per-step metrics instead of one row per trial')
    .action(async (id: string, opts: { coordinator: string; format: 'csv' | 'json'; steps?: boolean }) => {
      const { exportExperiment } = await import('../export.js');
      await withClient(opts.coordinator, async (client) => {
        process.stdout.write(await exportExperiment(client, id, opts.format, !!opts.steps));
      });
    });
}
