/**
 * The safe-default rule for where a coordinator may listen: a loopback address needs nothing;
 * any other address needs tokens, or an explicit --insecure (then warned about at start and every
 * hour). Pure, so the CLI and tests share it.
 */
export function isLoopback(listen: string): boolean {
  const host = listen.slice(0, listen.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Why this configuration must not start (message for the operator), or undefined when it may. */
export function exposureProblem(listen: string, hasTokens: boolean, insecure: boolean): string | undefined {
  if (hasTokens || insecure || isLoopback(listen)) return undefined;
  return (
    `--listen ${listen}: refusing to serve a non-loopback address without authentication; ` +
    'add --tokens FILE (create one with `trellis token create --tokens FILE --name NAME --role admin`), ' +
    'or --insecure to accept that anyone who reaches this port can run work and read every experiment'
  );
}

export const INSECURE_WARNING =
  'coordinator is listening on a non-loopback address WITHOUT authentication (--insecure): anyone who reaches it can submit, cancel and read everything, and act as a worker';
