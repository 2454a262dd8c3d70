/**
 * `trellis token create|list|revoke --tokens FILE`: the coordinator's tokens file
 * (coordinator/auth/tokens.ts). Only hashes are stored; `create` prints the token alone on
 * stdout, once. A running coordinator picks up changes without a restart.
 */
import { Option, type Command } from 'commander';
import { env } from '../../shared/env.js';
import { createToken, readTokenFile, revokeToken } from '../../coordinator/auth/tokens.js';
import { ROLES } from '../../coordinator/auth/policy.js';
import { positiveInt, print, UsageError } from '../common.js';

function tokensOption(): Option {
  const option = new Option('--tokens <file>', 'the tokens file (env TRELLIS_TOKENS_FILE)');
  const fromEnv = env().TRELLIS_TOKENS_FILE;
  return fromEnv ? option.default(fromEnv) : option;
}

function fileOf(opts: { tokens?: string }): string {
  if (!opts.tokens) throw new UsageError('--tokens: required (or set TRELLIS_TOKENS_FILE)');
  return opts.tokens;
}

export function addTokenCommand(program: Command): void {
  const token = program.command('token').description('create, list and revoke the tokens a coordinator accepts');
  token
    .command('create')
    .description('create a token; prints it alone on stdout (the file keeps only its hash)')
    .addOption(tokensOption())
    .requiredOption('--name <name>', 'who the token is for (recorded as the owner of what it submits)')
    .addOption(new Option('--role <role>', 'what it may do').choices(ROLES).makeOptionMandatory())
    .option(
      '--max-slots <n>',
      'workers: the most CPU slots (and GPUs) all workers using this token may advertise together; a larger claim is clamped (default: unbounded)',
      positiveInt('--max-slots'),
    )
    .action((opts: { tokens?: string; name: string; role: string; maxSlots?: number }) => {
      process.stdout.write(`${createToken(fileOf(opts), opts.name, opts.role, opts.maxSlots)}\n`);
    });
  token
    .command('list')
    .description('list the tokens: name, role, creation time (never the tokens)')
    .addOption(tokensOption())
    .option('--json', 'print one JSON document on stdout')
    .action((opts: { tokens?: string; json?: boolean }) => {
      const records = readTokenFile(fileOf(opts)).map(({ name, role, created, maxSlots }) => ({
        name,
        role,
        created: new Date(created).toISOString(),
        ...(maxSlots !== undefined ? { maxSlots } : {}),
      }));
      print(!!opts.json, { tokens: records }, () =>
        records.length === 0
          ? '(no tokens)'
          : records
              .map((r) => `${r.name}\t${r.role}\t${r.created}${r.maxSlots ? `\tmax-slots ${r.maxSlots}` : ''}`)
              .join('\n'),
      );
    });
  token
    .command('revoke')
    .description('revoke a token by name; a running coordinator refuses it from its next call')
    .addOption(tokensOption())
    .requiredOption('--name <name>', 'the token to revoke')
    .action((opts: { tokens?: string; name: string }) => {
      if (!revokeToken(fileOf(opts), opts.name)) {
        throw new UsageError(`--name: no token named ${opts.name} in ${fileOf(opts)}`);
      }
      process.stdout.write(`revoked ${opts.name}\n`);
    });
}
