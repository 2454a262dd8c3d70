#!/usr/bin/env node
/**
 * The `trellis` command. Built on the typed client library (client/index.ts) except for the
 * embedded `run`, which starts its own coordinator and workers first. Each command is a module
 * under commands/ that adds itself to the program (its flags, help text and action); what they
 * share is in common.ts.
 *
 * Exit codes: 0 success, 1 runtime failure (an experiment that failed, a server that is
 * unreachable), 2 usage or spec error (bad flags, invalid spec, unknown id, illegal request, a
 * bad environment variable). With --json exactly one JSON document goes to stdout; logs go to
 * stderr.
 */
import { Command, CommanderError } from 'commander';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../shared/errors.js';
import { trellisVersion } from '../shared/version.js';
import { setCallerTlsCa, setCallerToken, tlsCaOption, tokenOption, UsageError } from './common.js';
import { addCancelCommand } from './commands/cancel.js';
import { addCoordinatorCommand } from './commands/coordinator.js';
import { addExpandCommand } from './commands/expand.js';
import { addExportCommand } from './commands/export.js';
import { addListCommand } from './commands/list.js';
import { addLossesCommand } from './commands/losses.js';
import { addLogsCommand } from './commands/logs.js';
import { addReportCommand } from './commands/report.js';
import { addRunCommand } from './commands/run.js';
import { addStatusCommand } from './commands/status.js';
import { addTokenCommand } from './commands/token.js';
import { addSubmitCommand } from './commands/submit.js';
import { addTrialsCommand } from './commands/trials.js';
import { addWatchCommand } from './commands/watch.js';
import { addWorkerCommand } from './commands/worker.js';

/** The commands in the order --help lists them. */
const COMMANDS: ((program: Command) => void)[] = [
  addRunCommand,
  addCoordinatorCommand,
  addWorkerCommand,
  addSubmitCommand,
  addStatusCommand,
  addListCommand,
  addTrialsCommand,
  addWatchCommand,
  addLogsCommand,
  addCancelCommand,
  addExportCommand,
  addExpandCommand,
  addReportCommand,
  addLossesCommand,
  addTokenCommand,
];

export function buildProgram(): Command {
  const program = new Command('trellis')
    .description('Distributed training orchestrator: sweeps and pipelines over gRPC, NATS JetStream and MongoDB')
    .version(trellisVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError()
    .exitOverride();
  for (const add of COMMANDS) add(program);
  // Every command that talks to a coordinator also takes --token (env TRELLIS_TOKEN) and
  // --tls-ca (env TRELLIS_TLS_CA).
  for (const command of program.commands) {
    if (command.options.some((o) => o.long === '--coordinator')) {
      command.addOption(tokenOption());
      command.addOption(tlsCaOption());
    }
  }
  program.hook('preAction', (_program, action) => {
    const { token, tlsCa } = action.opts<{ token?: string; tlsCa?: string }>();
    setCallerToken(token);
    setCallerTlsCa(tlsCa);
  });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    // Inside the try: the flags' defaults come from the environment, which may be invalid.
    const program = buildProgram();
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    if (
      err instanceof UsageError ||
      err instanceof InvalidArgumentError ||
      err instanceof NotFoundError ||
      err instanceof FailedPreconditionError
    ) {
      process.stderr.write(`trellis: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`trellis: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** True when this file is the program being run (also through the `trellis` bin symlink). */
function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
      // Long-running commands (coordinator, worker) keep the process alive with their servers.
    },
    (err: unknown) => {
      process.stderr.write(`trellis: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
