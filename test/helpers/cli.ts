/** Runs the `trellis` command as a user does, on the embedded default (no MONGODB_URI or NATS_URL). */
import { spawn } from 'node:child_process';
import { CLI_PATH } from '../../cli/embedded.js';

/** `timeoutMs` (default 120 s) kills a CLI that has not exited; keep it below the test's own timeout. */
export function trellis(
  args: string[],
  cwd: string,
  { timeoutMs = 120_000 }: { timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.MONGODB_URI;
  delete env.NATS_URL;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A deadline, so a CLI that never exits fails the test naming the command.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `\n(killed: trellis ${args.join(' ')} ran past ${timeoutMs} ms)`;
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}
