/**
 * `trellis expand`: a spec with its pipeline template expanded into stages, checked like a submit.
 */
import type { Command } from 'commander';
import { readSpec } from '../common.js';

export function addExpandCommand(program: Command): void {
  program
    .command('expand')
    .description('print a spec with its pipeline template expanded into stages (checked like a submit)')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('--json', 'print JSON instead of YAML')
    .action(async (specPath: string, opts: { json?: boolean }) => {
      const { validateSpecText } = await import('../../coordinator/experiments/validate.js');
      const { parseSpecText } = await import('../../shared/spec/load.js');
      const { expandTemplate } = await import('../../coordinator/pipelines/templates/registry.js');
      const text = readSpec(specPath);
      validateSpecText(text);
      const expanded = expandTemplate(parseSpecText(text));
      if (opts.json) process.stdout.write(`${JSON.stringify(expanded, null, 2)}\n`);
      else
        process.stdout.write(
          (await import('yaml')).stringify(expanded, { lineWidth: 0, aliasDuplicateObjects: false }),
        );
    });
}
