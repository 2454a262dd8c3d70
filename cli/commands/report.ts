/**
 * `trellis report`: a pipeline's arms compared (every stage with test metrics), or a
 * multi-objective sweep's Pareto front with its hypervolume.
 */
import type { Command } from 'commander';
import { coordinatorOption, withClient } from '../common.js';
import type { ExperimentView } from '../../shared/convert.js';
import type { StageState } from '../../shared/types.js';

/** The --json document: what the text shows, as data. */
function reportDocument(experiment: ExperimentView): Record<string, unknown> {
  const stages = (experiment.stages ?? {}) as Record<string, StageState>;
  const arms = Object.entries(stages)
    .map(([arm, s]) => ({
      arm,
      status: s.status,
      cached: s.cached,
      metrics: Object.fromEntries(Object.entries(s.metrics ?? {}).filter(([m]) => m.startsWith('test_'))),
    }))
    .filter((a) => Object.keys(a.metrics).length > 0);
  return {
    id: experiment.id,
    name: experiment.name,
    kind: experiment.kind,
    status: experiment.status,
    ...(experiment.best ? { best: experiment.best } : {}),
    ...(experiment.pareto ? { pareto: experiment.pareto } : {}),
    ...(experiment.kind === 'Pipeline' ? { arms } : {}),
  };
}

export function addReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      "compare a pipeline's arms (every stage with test metrics), or show a multi-objective sweep's Pareto front",
    )
    .argument('<id>', 'experiment id')
    .addOption(coordinatorOption())
    .option('--markdown', 'a Markdown table')
    .option('--json', 'print one JSON document on stdout (arms, best, and the Pareto front with its hypervolume)')
    .option('--html <file>', 'write a static HTML report with its charts (opens offline, no server)')
    .action(async (id: string, opts: { coordinator: string; markdown?: boolean; json?: boolean; html?: string }) => {
      const { armsReport } = await import('../render.js');
      const { frontReport } = await import('../pareto-render.js');
      await withClient(opts.coordinator, async (client) => {
        if (opts.html) {
          const { writeHtmlReport } = await import('../report-html.js');
          process.stderr.write(`report written to ${await writeHtmlReport(client, id, opts.html)}\n`);
          return;
        }
        const experiment = await client.get(id);
        if (opts.json) process.stdout.write(`${JSON.stringify(reportDocument(experiment), null, 2)}\n`);
        else if (experiment.pareto)
          process.stdout.write(`${frontReport(experiment, experiment.pareto, !!opts.markdown)}\n`);
        else process.stdout.write(`${armsReport(experiment, !!opts.markdown)}\n`);
      });
    });
}
