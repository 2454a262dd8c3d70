/**
 * `trellis report`: a pipeline's arms compared, every stage with test metrics.
 */
import type { Command } from 'commander';
import { coordinatorOption, withClient } from '../common.js';

export function addReportCommand(program: Command): void {
  program
    .command('report')
    .description("compare a pipeline's arms: every stage with test metrics")
    .argument('<id>', 'experiment id')
    .addOption(coordinatorOption())
    .option('--markdown', 'a Markdown table')
    .option('--html <file>', 'write a static HTML report with its charts (opens offline, no server)')
    .action(async (id: string, opts: { coordinator: string; markdown?: boolean; html?: string }) => {
      const { armsReport } = await import('../render.js');
      await withClient(opts.coordinator, async (client) => {
        if (opts.html) {
          const { writeHtmlReport } = await import('../report-html.js');
          process.stderr.write(`report written to ${await writeHtmlReport(client, id, opts.html)}\n`);
          return;
        }
        process.stdout.write(`${armsReport(await client.get(id), !!opts.markdown)}\n`);
      });
    });
}
