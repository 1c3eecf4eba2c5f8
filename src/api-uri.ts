/**
 * Where an app lives: the API URI of its Instant server, written the same way whoever writes it,
 * so records (`databases.apiUri`) and configuration compare equal when they name one server.
 */

/** `https://Instant.Example.com/` and `https://instant.example.com` are one server. */
export function normalizeApiUri(uri: string): string {
  const url = new URL(uri);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * Whether a record's app lives on the server at `home` (a normalized URI): records that name no
 * server (made before the field existed) live on the daemon's own.
 */
export function livesOn(recordApiUri: string | null, home: string): boolean {
  return recordApiUri === null || normalizeApiUri(recordApiUri) === home;
}
