/**
 * What a client's `init` says about itself (`versions`, e.g. `{"@instantdb/core": "v1.0.67"}`)
 * and the protocol features the server adapts to it (session.clj › get-supported-features):
 * array frames above core 0.22.75, attrs left out of `refresh-ok` when unchanged above 0.20.4.
 *
 * Supported clients: `@instantdb/core` and `@instantdb/react` 1.0.x; the sandbox is tested with
 * 1.0.67. Older clients get the server's fallbacks above; nothing refuses a version.
 */

/** Features of one session's client. */
export interface ClientFeatures {
  /** Several messages may travel as one JSON array frame. */
  readonly batch: boolean;
  /** `refresh-ok` carries attrs only when they changed. */
  readonly skipAttrs: boolean;
}

/** The features of a client announcing `versions`. */
export function clientFeatures(versions: unknown): ClientFeatures {
  const raw =
    typeof versions === 'object' && versions !== null
      ? (versions as Record<string, unknown>)['@instantdb/core']
      : undefined;
  const version = typeof raw === 'string' ? parseVersion(raw) : null;
  if (!version) return { batch: false, skipAttrs: false };
  return { batch: newerThan(version, [0, 22, 75]), skipAttrs: newerThan(version, [0, 20, 4]) };
}

function parseVersion(text: string): number[] | null {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return match ? match.slice(1, 4).map(Number) : null;
}

function newerThan(version: number[], than: number[]): boolean {
  for (let i = 0; i < 3; i++) if (version[i] !== than[i]) return version[i]! > than[i]!;
  return false;
}
