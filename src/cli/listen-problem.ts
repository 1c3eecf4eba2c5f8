/** A server that could not listen, as the one line an operator reads (exit 2), not a stack trace. */

/**
 * The problem with listening on `setting` (a flag such as `--http-port`), or null when `error`
 * is not a failure to listen. Names the port node tried, which is what the operator chose.
 */
export function listenProblem(error: unknown, setting: string): string | null {
  const { code, port, address } = (error ?? {}) as NodeJS.ErrnoException & { port?: number; address?: string };
  const where = address ? ` on ${address}` : '';
  if (code === 'EADDRINUSE') return `${setting} ${port} is in use${where}; choose another port, or 0 for any free one`;
  if (code === 'EACCES') return `${setting} ${port}: not allowed to listen${where} (ports below 1024 need privileges)`;
  if (code === 'EADDRNOTAVAIL') return `${setting} ${port}: ${address ?? 'the host'} is not an address of this machine`;
  return null;
}
