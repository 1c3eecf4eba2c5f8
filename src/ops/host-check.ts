/**
 * The ops server's defence against DNS rebinding: a page on an attacker's
 * domain whose name was re-pointed at this machine reaches the server with its
 * own name in `Host`. A name is accepted only when it is `localhost` or the
 * configured `--http-host`; an IP literal is always accepted, since no rebinding
 * can make a browser send one that differs from the address it connected to.
 * The port is not compared: rebinding cannot forge the name, and a container's
 * port mapping or a proxy may legitimately change the port.
 */
import { isIP } from 'node:net';

/**
 * Whether a request's `Host` header names this server. A missing header is
 * accepted: every browser sends one, so its absence is a script or an HTTP/1.0
 * health check, not a rebound page.
 */
export function hostAllowed(header: string | undefined, configuredHost: string): boolean {
  if (header === undefined) return true;
  const name = hostName(header);
  if (name === null) return false;
  if (isIP(name) !== 0) return true;
  return name === 'localhost' || name === configuredHost.toLowerCase();
}

/** The header's host, lower case, without port or IPv6 brackets; null when it does not parse. */
function hostName(header: string): string | null {
  if (header === '' || /[/?#@\s]/.test(header)) return null;
  try {
    const { hostname } = new URL(`http://${header}`);
    return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  } catch {
    return null;
  }
}
