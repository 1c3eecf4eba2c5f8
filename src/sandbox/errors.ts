/**
 * InstantDB's error bodies, built the way the real server builds them (protocol doc §2.5, §3).
 * Every failure inside the sandbox is a SandboxHttpError; the router turns it into a response.
 */

/** A JSON object as it travels on the wire. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** An error that answers the request with `status` and `body` (JSON unless `contentType` says otherwise). */
export class SandboxHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, Json> | string,
    readonly headers: Record<string, string> = {},
    readonly contentType = 'application/json',
  ) {
    super(typeof body === 'string' ? body : String(body['message'] ?? `HTTP ${status}`));
    this.name = 'SandboxHttpError';
  }

  /** The typed body when there is one (in-stream SSE errors reuse it). */
  get jsonBody(): Record<string, Json> | undefined {
    return typeof this.body === 'string' ? undefined : this.body;
  }
}

function typed(status: number, type: string, message: string, hint?: Record<string, Json>): SandboxHttpError {
  return new SandboxHttpError(status, hint === undefined ? { type, message } : { type, message, hint });
}

/** Prints a parameter path the way Clojure prints a vector of strings: `["headers" "app-id"]`. */
function clojurePath(path: readonly string[]): string {
  return `[${path.map((p) => JSON.stringify(p)).join(' ')}]`;
}

/** 400 param-missing, e.g. `Missing parameter: ["body" "title"]`. */
export function paramMissing(path: string[], possibleIns?: string[][]): SandboxHttpError {
  const hint: Record<string, Json> = { in: path };
  if (possibleIns) hint['possible-ins'] = possibleIns;
  return typed(400, 'param-missing', `Missing parameter: ${clojurePath(path)}`, hint);
}

/** 400 param-malformed with the offending input echoed in the hint. */
export function paramMalformed(path: string[], input: Json, possibleIns?: string[][]): SandboxHttpError {
  const hint: Record<string, Json> = { in: path };
  if (possibleIns) hint['possible-ins'] = possibleIns;
  hint['original-input'] = input;
  return typed(400, 'param-malformed', `Malformed parameter: ${clojurePath(path)}`, hint);
}

/** 400 record-not-found; `hint.record-type` is always present (PlatformApi reads it unconditionally). */
export function recordNotFound(recordType: string, extra: Record<string, Json> = {}): SandboxHttpError {
  return typed(400, 'record-not-found', `Record not found: ${recordType}`, { ...extra, 'record-type': recordType });
}

/** One entry of a validation error's `hint.errors`. */
export interface ValidationEntry {
  message?: string;
  [key: string]: Json | undefined;
}

/** 400 validation-failed: `Validation failed for <data-type>: <msg1>, <msg2>`. */
export function validationFailed(dataType: string, input: Json, errors: ValidationEntry[]): SandboxHttpError {
  const messages = errors.flatMap((e) => (e.message === undefined ? [] : [e.message]));
  const base = `Validation failed for ${dataType}`;
  const message = messages.length ? `${base}: ${messages.join(', ')}` : base;
  return typed(400, 'validation-failed', message, {
    'data-type': dataType,
    input,
    errors: errors.map((e) => JSON.parse(JSON.stringify(e)) as Json),
  });
}

/** 400 validation-failed with a free-form message and hint (type checks, required attributes). */
export function validationFailedRaw(message: string, hint: Record<string, Json>): SandboxHttpError {
  return typed(400, 'validation-failed', message, hint);
}

/** 400 record-not-unique, exactly as the unique-index violation reads on the real server (§5.6). */
export function recordNotUnique(etype: string, label: string, attrId: string, value: unknown): SandboxHttpError {
  const json = JSON.stringify(value);
  return typed(
    400,
    'record-not-unique',
    `\`${label}\` is a unique attribute on \`${etype}\` and an entity already exists with \`${etype}.${label}\` = ${json}`,
    { 'record-type': 'triple', 'attr-id': attrId, etype, label, value: json },
  );
}

/** A row that already exists (exception.clj throw-record-not-unique!: e.g. an app id taken). */
export function recordExists(recordType: string): SandboxHttpError {
  return typed(400, 'record-not-unique', `Record not unique: ${recordType}`, { 'record-type': recordType });
}

/** 500 with InstantDB's untyped crash body. */
export function unknownServerError(): SandboxHttpError {
  return typed(500, 'unknown', 'Something went wrong. Sorry about this!', { 'debug-uri': debugUri() });
}

/** 500 with a typed body (e.g. a failed database statement). */
export function typedServerError(type: string, message: string): SandboxHttpError {
  return typed(500, type, message, { 'debug-uri': debugUri() });
}

/** 404 for routes the server does not have. */
export function routeNotFound(): SandboxHttpError {
  return new SandboxHttpError(404, { message: "Oops! We couldn't match this route." });
}

/** 400 text/plain, as ring-json answers a body it cannot parse. */
export function malformedJsonBody(): SandboxHttpError {
  return new SandboxHttpError(400, 'Malformed JSON in request body.', {}, 'text/plain');
}

function debugUri(): string {
  return 'http://127.0.0.1/sandbox-has-no-traces';
}

/** 400 permission-denied, as `assert-permitted!` throws it: `input` is `[etype, scope]`. */
export function permissionDenied(etype: string, scope: 'object' | 'attr'): SandboxHttpError {
  return typed(400, 'permission-denied', 'Permission denied: not perms-pass?', {
    input: [etype, scope],
    expected: 'perms-pass?',
  });
}

/** 400 permission-evaluation-failed: a rule threw while it ran (impersonated callers see no CEL detail). */
export function permissionEvaluationFailed(etype: string, action: string, errorType: string): SandboxHttpError {
  const message = `Could not evaluate permission rule for \`${etype}.${action}\`. You may have a typo. Debug this in the sandbox and then update your permission rules.`;
  return typed(400, 'permission-evaluation-failed', message, {
    rule: [etype, action],
    error: { type: errorType, message, hint: 'You may have a typo' },
  });
}
