/**
 * A worker that dies with the process that started it (`trellis worker --exit-with-parent`, set
 * by the embedded `trellis run`): whatever ends the parent, SIGKILL included, its workers must
 * not live on as orphans that keep reconnecting to a coordinator that is gone.
 *
 * Two signs, either enough: the parent holds the write end of a pipe on our stdin and never
 * writes to it, so the kernel closes it when the parent dies, and we read end-of-file (the
 * same trick as the program reaper, runtimes/command/reaper.ts); and our parent pid changes
 * (the orphan is re-parented to init or a subreaper), checked every `pollMs` in case stdin was
 * not a pipe after all. `onGone` is called once, with which sign was seen.
 */
import { fstatSync } from 'node:fs';

export function watchParent(onGone: (why: string) => void, pollMs = 1000): () => void {
  const parent = process.ppid;
  let fired = false;
  const gone = (why: string): void => {
    if (fired) return;
    fired = true;
    stop();
    onGone(why);
  };
  // Only a pipe (node's 'pipe' stdio is a socket pair) says anything: /dev/null or a terminal
  // would read as end-of-file or never end; then the parent pid is the only sign.
  const stdin = stdinIsPipe() ? process.stdin : undefined;
  const onEnd = (): void => gone('its stdin pipe from the parent closed');
  if (stdin) {
    stdin.on('end', onEnd);
    stdin.on('error', onEnd);
    // Reading is what lets 'end' arrive; nothing is ever written, so no data is kept.
    stdin.on('data', () => undefined);
    stdin.resume();
    // stdin must not keep the worker alive on its own: the connection does that.
    (stdin as { unref?: () => void }).unref?.();
  }
  const timer = setInterval(() => {
    if (process.ppid !== parent) gone(`its parent pid changed from ${parent} to ${process.ppid}`);
  }, pollMs);
  timer.unref();
  function stop(): void {
    clearInterval(timer);
    stdin?.off('end', onEnd);
    stdin?.off('error', onEnd);
    stdin?.pause();
  }
  return stop;
}

function stdinIsPipe(): boolean {
  try {
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}
