/**
 * One reading of InstantDB's error answers, shared by the store (Admin API) and
 * the Platform client, so both agree on what an answer means.
 *
 * | answer                                                          | meaning            |
 * |-----------------------------------------------------------------|--------------------|
 * | 429 (rate-limited, timeout)                                     | rate-limited       |
 * | 5xx, 408                                                        | unavailable        |
 * | app-creation-disabled                                           | creation-disabled  |
 * | 401, 403; record-not-found/-expired naming a token or its user; | token-rejected     |
 * |   param-missing/-malformed on a header (app id, authorization)  |                    |
 * | record-not-unique                                               | unique-violation   |
 * | record-not-found naming anything else (an app, an org)          | not-found          |
 * | validation-failed "Updating entities that don't exist"          | missing-entity     |
 * | validation-failed "Attributes are missing in your schema"       | schema-missing     |
 * | permission-denied                                               | permission-denied  |
 * | any other 4xx                                                   | rejected           |
 * | any other status                                                | unexpected-status  |
 *
 * Only typed fields are read: the rest of a body may echo a token back (the
 * real server puts a rejected admin token in `hint`), so callers describe an
 * error with `detail`, never with the raw body.
 */

export type InstantErrorMeaning =
  | 'rate-limited'
  | 'unavailable'
  | 'creation-disabled'
  | 'token-rejected'
  | 'unique-violation'
  | 'not-found'
  | 'missing-entity'
  | 'schema-missing'
  | 'permission-denied'
  | 'rejected'
  | 'unexpected-status';

/** What an error answer says, in the fields we trust. */
export interface InstantErrorInfo {
  meaning: InstantErrorMeaning;
  status: number;
  /** InstantDB's error `type`, e.g. `record-not-found`. */
  type: string | undefined;
  message: string | undefined;
  /** `type: message`, or the message, or `HTTP <status>`: safe to log. */
  detail: string;
  /** The wait the server asked for (Retry-After header or `hint.retry-after`), capped at an hour. */
  retryAfterMs: number | undefined;
  /** For unique violations: which attribute refused the write. */
  etype: string | undefined;
  label: string | undefined;
}

/** Types the server answers with 400 (protocol doc §2.5). */
const BAD_REQUEST_TYPES = new Set([
  'record-not-found',
  'record-expired',
  'record-not-unique',
  'record-foreign-key-invalid',
  'record-check-violation',
  'sql-raise',
  'permission-denied',
  'permission-evaluation-failed',
  'parameter-limit-exceeded',
  'app-read-only',
  'app-disabled',
  'app-creation-disabled',
  'signups-closed',
  'billing-closed',
  'param-missing',
  'param-malformed',
  'validation-failed',
  'session-missing',
  'member-missing',
  'connection-closed',
]);
const TOKEN_RECORD_TYPES = new Set(['instant-user', 'oauth-access-token', 'app-admin-token', 'personal-access-token']);
/** A server may ask for any wait; we honour at most an hour. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * Reads an error answer. `body` is the parsed JSON (or the raw text when it was
 * not JSON); `retryAfterHeader` the Retry-After header when the caller saw one.
 */
export function readInstantError(
  answeredStatus: number | undefined,
  body: unknown,
  now: number,
  retryAfterHeader?: string | null,
): InstantErrorInfo {
  const fields = typedFields(body);
  const { type, message, hint } = fields;
  const status = answeredStatus ?? statusOfType(type);
  const detail = type ? `${type}: ${message ?? 'no message'}` : (message ?? `HTTP ${status}`);
  const str = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    meaning: meaningOf(status, type, message, hint),
    status,
    type,
    message,
    detail,
    retryAfterMs: readRetryAfter(retryAfterHeader, hint, now),
    etype: type === 'record-not-unique' ? str(hint['etype']) : undefined,
    label: type === 'record-not-unique' ? str(hint['label']) : undefined,
  };
}

/**
 * The SDK loses the status of a refused subscription (it spreads the fetch
 * Response); the server's type says which status it had.
 */
function statusOfType(type: string | undefined): number {
  if (type === 'rate-limited' || type === 'timeout') return 429;
  return type !== undefined && BAD_REQUEST_TYPES.has(type) ? 400 : 500;
}

function meaningOf(
  status: number,
  type: string | undefined,
  message: string | undefined,
  hint: Record<string, unknown>,
): InstantErrorMeaning {
  if (status === 429) return 'rate-limited';
  if (status >= 500 || status === 408) return 'unavailable';
  if (type === 'app-creation-disabled') return 'creation-disabled';
  if (isTokenRejection(status, type, hint)) return 'token-rejected';
  if (status < 400 || status >= 500) return 'unexpected-status';
  if (type === 'record-not-unique') return 'unique-violation';
  if (type === 'record-not-found') return 'not-found';
  if (type === 'permission-denied') return 'permission-denied';
  if (type === 'validation-failed' && message?.includes("Updating entities that don't exist")) return 'missing-entity';
  if (type === 'validation-failed' && message?.includes('Attributes are missing in your schema'))
    return 'schema-missing';
  return 'rejected';
}

function isTokenRejection(status: number, type: string | undefined, hint: Record<string, unknown>): boolean {
  if (status === 401 || status === 403) return true;
  if (status !== 400) return false;
  const recordType = hint['record-type'];
  if ((type === 'record-not-found' || type === 'record-expired') && typeof recordType === 'string')
    return TOKEN_RECORD_TYPES.has(recordType);
  const where = hint['in'];
  return (type === 'param-missing' || type === 'param-malformed') && Array.isArray(where) && where[0] === 'headers';
}

function typedFields(body: unknown): { type?: string; message?: string; hint: Record<string, unknown> } {
  // Not JSON (a proxy's HTML page, say): nothing in it is ours to repeat.
  if (typeof body !== 'object' || body === null) return { hint: {} };
  const record = body as Record<string, unknown>;
  const hint = record['hint'];
  return {
    ...(typeof record['type'] === 'string' ? { type: record['type'] } : {}),
    ...(typeof record['message'] === 'string' ? { message: record['message'] } : {}),
    hint: typeof hint === 'object' && hint !== null && !Array.isArray(hint) ? (hint as Record<string, unknown>) : {},
  };
}

function readRetryAfter(
  header: string | null | undefined,
  hint: Record<string, unknown>,
  now: number,
): number | undefined {
  let ms: number | undefined;
  if (header !== null && header !== undefined && header.trim() !== '') {
    const seconds = Number(header);
    ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  } else if (typeof hint['retry-after'] === 'number') {
    ms = hint['retry-after'] * 1000;
  }
  if (ms === undefined || !Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}
