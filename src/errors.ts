/**
 * One error family, classified by what the caller should do, not by message text.
 *
 * - `retryable`: trying again later may succeed.
 * - `scope`: 'task' errors concern one task; 'global' errors (a rejected token,
 *   InstantDB refusing new apps) stop all work until someone acts.
 * - `retryAfterMs`: the wait the server asked for, which wins over our backoff.
 */
export type ErrorScope = 'task' | 'global';

export abstract class ProvisionerError extends Error {
  abstract readonly retryable: boolean;
  abstract readonly scope: ErrorScope;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * How a Platform API call failed.
 * - rate-limited: 429; nothing was created, and every create should slow down.
 * - server: a 5xx answer; a create may have made the app before failing.
 * - network / timeout: no answer; a create may exist and may even still land.
 * - malformed-response: a 2xx body we cannot use; the app may exist.
 * - rejected: a 4xx that will not change by retrying; nothing was created.
 * - already-exists: a create with a chosen id found that id taken (the app exists).
 * - not-found: the app (or org) asked for does not exist, or is deleted.
 * - token-rejected: the platform token is not accepted (global).
 * - creation-disabled: the server no longer creates apps (Instant Cloud's wind-down; global).
 */
export type PlatformErrorKind =
  | 'rate-limited'
  | 'server'
  | 'network'
  | 'timeout'
  | 'malformed-response'
  | 'rejected'
  | 'already-exists'
  | 'not-found'
  | 'token-rejected'
  | 'creation-disabled';

const retryableKinds = new Set<PlatformErrorKind>([
  'rate-limited',
  'server',
  'network',
  'timeout',
  'malformed-response',
]);
const unansweredKinds = new Set<PlatformErrorKind>(['network', 'timeout']);
const mayHaveCreatedKinds = new Set<PlatformErrorKind>(['server', 'network', 'timeout', 'malformed-response']);

export class PlatformError extends ProvisionerError {
  readonly kind: PlatformErrorKind;
  readonly status: number | undefined;
  /** InstantDB's error `type` (e.g. `record-not-found`), when the body had one. */
  readonly type: string | undefined;

  constructor(
    kind: PlatformErrorKind,
    message: string,
    options: { status?: number; type?: string; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, options);
    this.kind = kind;
    this.status = options.status;
    this.type = options.type;
  }

  get retryable(): boolean {
    return retryableKinds.has(this.kind);
  }

  get scope(): ErrorScope {
    return this.kind === 'token-rejected' || this.kind === 'creation-disabled' ? 'global' : 'task';
  }

  /** For a create: the app may exist although we got no usable answer. */
  get mayHaveCreated(): boolean {
    return mayHaveCreatedKinds.has(this.kind);
  }

  /** False when the request may still be running on the server (no answer came back). */
  get answered(): boolean {
    return !unansweredKinds.has(this.kind);
  }
}

/** A Platform API answer whose body does not match what we need (zod said no). */
export class MalformedResponseError extends PlatformError {
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super('malformed-response', message, options);
  }
}

/**
 * How a main-app (Admin API) call failed.
 * - unique-violation: a unique attribute already holds the value (`etype`.`label`).
 * - missing-entity: an update guarded with `upsert: false` found no entity.
 * - unavailable: network error, timeout, 429 or 5xx; retry.
 * - token-rejected: the admin token or app id is not accepted (global).
 * - schema-missing: the app lacks attributes from instant.schema.ts (global).
 * - rejected: any other 4xx (a bug or a hand-edited record); not retried as is.
 */
export type StoreErrorKind =
  'unique-violation' | 'missing-entity' | 'unavailable' | 'token-rejected' | 'schema-missing' | 'rejected';

export class StoreError extends ProvisionerError {
  readonly kind: StoreErrorKind;
  readonly status: number | undefined;
  /** For unique violations: which attribute refused the write. */
  readonly etype: string | undefined;
  readonly label: string | undefined;

  constructor(
    kind: StoreErrorKind,
    message: string,
    options: { status?: number; retryAfterMs?: number; etype?: string; label?: string; cause?: unknown } = {},
  ) {
    super(message, options);
    this.kind = kind;
    this.status = options.status;
    this.etype = options.etype;
    this.label = options.label;
  }

  get retryable(): boolean {
    return this.kind === 'unavailable';
  }

  get scope(): ErrorScope {
    return this.kind === 'token-rejected' || this.kind === 'schema-missing' ? 'global' : 'task';
  }
}

/**
 * How a copy (src/copy: an app or an archive read, or written) failed.
 * - unavailable: no answer, a timeout, a 429 or a 5xx; the copy may be run again (it resumes).
 * - token-rejected: the app's admin token (or app id) is not accepted.
 * - rejected: any other refusal (4xx); running again will not help as is.
 * - archive-invalid: an archive is missing, incomplete (no manifest), truncated or altered.
 * - verify-failed: the copy does not match its source (counts or content checksum).
 */
export type CopyErrorKind = 'unavailable' | 'token-rejected' | 'rejected' | 'archive-invalid' | 'verify-failed';

export class CopyError extends ProvisionerError {
  readonly kind: CopyErrorKind;
  readonly status: number | undefined;
  /** InstantDB's error `type` (e.g. `validation-failed`), when the answer had one. */
  readonly type: string | undefined;

  constructor(
    kind: CopyErrorKind,
    message: string,
    options: { status?: number; type?: string; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, options);
    this.kind = kind;
    this.status = options.status;
    this.type = options.type;
  }

  get retryable(): boolean {
    return this.kind === 'unavailable';
  }

  /** A copy concerns one app; nothing about it stops other copies. */
  get scope(): ErrorScope {
    return 'task';
  }
}
