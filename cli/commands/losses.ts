/**
 * `trellis losses`: every loss with its inputs, params and defaults.
 */
import type { Command } from 'commander';
import { print } from '../common.js';

export function addLossesCommand(program: Command): void {
  program
    .command('losses')
    .description('list every loss with its inputs, params and defaults')
    .option('--json', 'print one JSON document on stdout')
    .action(async (opts: { json?: boolean }) => {
      const { describeLosses } = await import('../../shared/catalogue/losses.js');
      const losses = describeLosses();
      print(!!opts.json, { losses }, () =>
        losses
          .map(
            (l) =>
              `${l.name.padEnd(13)} ${l.family.padEnd(14)} inputs: ${l.inputs.join(', ')}${l.stateful ? ' (stateful)' : ''}\n` +
              `${''.padEnd(14)}${l.description}\n` +
              (l.params.length > 0
                ? l.params
                    .map(
                      (p) =>
                        `${''.padEnd(14)}- ${p.name} = ${String(p.default)}${p.values ? ` (${p.values.join(' | ')})` : p.min !== undefined || p.max !== undefined ? ` in [${p.min ?? '-inf'}, ${p.max ?? 'inf'}]` : ''}: ${p.description}`,
                    )
                    .join('\n') + '\n'
                : ''),
          )
          .join('\n'),
      );
    });
}
