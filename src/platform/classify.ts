/**
 * Turns a Platform API answer that is not a success into a PlatformError, by
 * the shared reading of InstantDB errors (src/instant-errors.ts).
 */
import { MalformedResponseError, PlatformError, type PlatformErrorKind } from '../errors.js';
import { readInstantError, type InstantErrorMeaning } from '../instant-errors.js';

const KIND: Record<InstantErrorMeaning, PlatformErrorKind | null> = {
  'rate-limited': 'rate-limited',
  unavailable: 'server',
  'creation-disabled': 'creation-disabled',
  'token-rejected': 'token-rejected',
  'unique-violation': 'already-exists',
  'not-found': 'not-found',
  'missing-entity': 'rejected',
  'schema-missing': 'rejected',
  'permission-denied': 'rejected',
  rejected: 'rejected',
  // InstantDB answers 200 or an error: anything else is not an answer we understand.
  'unexpected-status': null,
};

const PREFIX: Partial<Record<PlatformErrorKind, string>> = {
  'rate-limited': 'rate limited',
  server: 'server error',
  'creation-disabled': 'the server does not create apps any more',
  'token-rejected': 'the platform token was rejected',
};

export function classifyFailure(status: number, bodyText: string, headers: Headers, now: number): PlatformError {
  const info = readInstantError(status, parseJson(bodyText), now, headers.get('retry-after'));
  const kind = KIND[info.meaning];
  if (kind === null) return new MalformedResponseError(`unexpected HTTP ${status} from the Platform API`, { status });
  const prefix = PREFIX[kind];
  const message = prefix ? `${prefix} (${info.detail})` : info.detail;
  const retryAfterMs = kind === 'rate-limited' || kind === 'server' ? info.retryAfterMs : undefined;
  return new PlatformError(kind, message, { status, type: info.type, retryAfterMs });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
