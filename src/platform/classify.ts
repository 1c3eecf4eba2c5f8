/**
 * Turns a Platform API answer that is not a success into a PlatformError.
 *
 * | answer                                              | kind              |
 * |-----------------------------------------------------|-------------------|
 * | 429                                                 | rate-limited      |
 * | 5xx, 408                                            | server            |
 * | 400 app-creation-disabled                           | creation-disabled |
 * | 400 record-not-found/-expired naming a token or user,| token-rejected    |
 * | 400 param-* on the authorization header, 401, 403   |                   |
 * | any other 4xx                                       | rejected          |
 * | any other status (InstantDB answers 200 or an error)| malformed-response|
 */
import { MalformedResponseError, PlatformError } from '../errors.js';
import { errorBody, type ErrorBody } from './responses.js';

const TOKEN_RECORD_TYPES = new Set(['instant-user', 'oauth-access-token', 'app-admin-token', 'personal-access-token']);
/** A server may ask for any wait; we cap what we honour at an hour. */
const MAX_RETRY_AFTER_MS = 3_600_000;

export function classifyFailure(status: number, bodyText: string, headers: Headers, now: number): PlatformError {
  const body = parseErrorBody(bodyText);
  const detail = body.type ? `${body.type}: ${body.message ?? 'no message'}` : (body.message ?? `HTTP ${status}`);
  const retryAfterMs = readRetryAfter(headers, body, now);
  const type = body.type;

  if (status === 429)
    return new PlatformError('rate-limited', `rate limited (${detail})`, { status, type, retryAfterMs });
  if (status >= 500 || status === 408)
    return new PlatformError('server', `server error (${detail})`, { status, type, retryAfterMs });
  if (type === 'app-creation-disabled') {
    return new PlatformError('creation-disabled', `the server does not create apps any more (${detail})`, {
      status,
      type,
    });
  }
  if (isTokenRejection(status, body))
    return new PlatformError('token-rejected', `the platform token was rejected (${detail})`, { status, type });
  if (status >= 400 && status < 500) return new PlatformError('rejected', detail, { status, type });
  return new MalformedResponseError(`unexpected HTTP ${status} from the Platform API`, { status });
}

function isTokenRejection(status: number, body: ErrorBody): boolean {
  if (status === 401 || status === 403) return true;
  if (status !== 400) return false;
  const hint = body.hint;
  if (
    (body.type === 'record-not-found' || body.type === 'record-expired') &&
    TOKEN_RECORD_TYPES.has(hint?.['record-type'] ?? '')
  ) {
    return true;
  }
  return (body.type === 'param-missing' || body.type === 'param-malformed') && hint?.in?.[1] === 'authorization';
}

/** Only the typed fields: the rest of an error body may echo a token back. */
function parseErrorBody(text: string): ErrorBody {
  try {
    const parsed = errorBody.safeParse(JSON.parse(text));
    if (parsed.success) return { type: parsed.data.type, message: parsed.data.message, hint: parsed.data.hint };
  } catch {
    // Not JSON: a proxy's HTML page, say.
  }
  return {};
}

function readRetryAfter(headers: Headers, body: ErrorBody, now: number): number | undefined {
  const header = headers.get('retry-after');
  let ms: number | undefined;
  if (header !== null && header.trim() !== '') {
    const seconds = Number(header);
    ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  } else if (body.hint?.['retry-after'] !== undefined) {
    ms = body.hint['retry-after'] * 1000;
  }
  if (ms === undefined || !Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}
