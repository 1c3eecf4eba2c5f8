/**
 * One app's admin API over our own HTTP transport (node:http keep-alive, raw JSON bodies), with
 * the app's own admin token: `/admin/query` and `/admin/transact` for data, and the per-app
 * Platform routes `/superadmin/apps/:id/schema|perms` for schema and rules, which the server
 * accepts with the app's admin token (superadmin/routes.clj `req->superadmin-app!`). No platform
 * token is needed to copy an app.
 *
 * Every request has a deadline; a failure becomes a CopyError by the shared reading of InstantDB
 * errors (no body is ever repeated: the server echoes a rejected admin token in `hint`). Requests
 * that may succeed later (no answer, 429, 5xx) are retried here with backoff, a 429 after the wait
 * the server asked for, shared by every client of the run; everything a copy sends may be sent
 * twice (queries, upserts, links, schema and rules pushes).
 */
import { AbortedError, sleep, systemClock, type Clock } from '../clock.js';
import { withDeadline } from '../core/deadline.js';
import { backoffDelay, type BackoffPolicy } from '../core/retry-policy.js';
import { CopyError } from '../errors.js';
import { readInstantError } from '../instant-errors.js';
import { BodyTooLargeError, HttpTransport } from '../platform/http-transport.js';
import { RatePause } from './rate-pause.js';

/** Where an app is and the key to it. */
export interface AppAddress {
  /** The Instant server's API URI, e.g. https://api.instantdb.com. */
  apiUri: string;
  appId: string;
  adminToken: string;
}

export interface AppClientOptions {
  clock?: Clock;
  /** Deadline of each request (default 60 s: a page of a big app may take a while). */
  timeoutMs?: number;
  /** Tries per request for failures that may pass (default 5); 429s are waited out on top. */
  attempts?: number;
  backoff?: BackoffPolicy;
  /** Shared by the clients of one run, so a 429 slows all of them (default: this client's own). */
  pause?: RatePause;
  /** One transport per server, shared by the clients of a run (default: this client's own). */
  transport?: HttpTransport;
  random?: () => number;
}

/** Answers larger than this are refused: pages are sized to stay far below it. */
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;
/** A server that keeps answering 429 is given up on after this many waits in one request. */
const MAX_RATE_LIMITED = 50;

/** A JSON answer and its size in bytes (pages are sized by it). */
export interface Answer<T> {
  body: T;
  bytes: number;
}

export class AppClient {
  private readonly base: string;
  private readonly transport: HttpTransport;
  private readonly ownTransport: boolean;
  private readonly clock: Clock;
  private readonly pause: RatePause;

  constructor(
    readonly address: AppAddress,
    private readonly options: AppClientOptions = {},
  ) {
    this.base = address.apiUri.replace(/\/+$/, '');
    this.ownTransport = options.transport === undefined;
    this.transport = options.transport ?? new HttpTransport(this.base);
    this.clock = options.clock ?? systemClock;
    this.pause = options.pause ?? new RatePause(this.clock);
  }

  get appId(): string {
    return this.address.appId;
  }

  /** POST /admin/query without inference (links always come as arrays). */
  query(query: Record<string, unknown>, signal: AbortSignal): Promise<Answer<Record<string, unknown>>> {
    return this.send('POST', '/admin/query', JSON.stringify({ query, 'inference?': false }), signal);
  }

  /**
   * POST /admin/transact with steps already serialised (each a JSON array text), so a batch is
   * sized without serialising it twice. Missing attributes are created (a namespace without
   * attributes has no `id` attribute until its first entity: the server's push skips it).
   */
  async transact(stepsJson: readonly string[], signal: AbortSignal): Promise<void> {
    const body = `{"steps":[${stepsJson.join(',')}],"throw-on-missing-attrs?":false}`;
    await this.send('POST', '/admin/transact', body, signal);
  }

  /** GET /superadmin/apps/:id/schema: the attribute catalogue `{refs, blobs}`. */
  async schema(signal: AbortSignal): Promise<unknown> {
    const { body } = await this.send<{ schema?: unknown }>('GET', `${this.appPath}/schema`, undefined, signal);
    return body.schema;
  }

  /** GET /superadmin/apps/:id/perms: the rules, or null. */
  async perms(signal: AbortSignal): Promise<Record<string, unknown> | null> {
    const { body } = await this.send<{ perms?: unknown }>('GET', `${this.appPath}/perms`, undefined, signal);
    const perms = body.perms;
    if (perms === null || perms === undefined) return null;
    if (typeof perms !== 'object' || Array.isArray(perms))
      throw new CopyError('rejected', 'the perms answer is not an object');
    return perms as Record<string, unknown>;
  }

  /**
   * POST …/schema/push/apply (what `instant-cli push schema` sends): adds what is missing, never
   * deletes. Answers the indexing-job group it started, if any.
   */
  async pushSchema(schema: unknown, signal: AbortSignal): Promise<string | null> {
    const body = JSON.stringify({ schema, check_types: true, supports_background_updates: true });
    const answer = await this.send<{ 'indexing-jobs'?: { 'group-id'?: unknown } | null }>(
      'POST',
      `${this.appPath}/schema/push/apply`,
      body,
      signal,
    );
    const group = answer.body['indexing-jobs']?.['group-id'];
    return typeof group === 'string' ? group : null;
  }

  /** GET /dash/apps/:id/indexing-jobs/group/:groupId: the status of each job. */
  async indexingJobs(groupId: string, signal: AbortSignal): Promise<Array<{ status: string; error: string | null }>> {
    const path = `/dash/apps/${encodeURIComponent(this.appId)}/indexing-jobs/group/${encodeURIComponent(groupId)}`;
    const { body } = await this.send<{ jobs?: unknown }>('GET', path, undefined, signal);
    const jobs = Array.isArray(body.jobs) ? (body.jobs as Record<string, unknown>[]) : [];
    return jobs.map((job) => ({
      status: String(job['job_status']),
      error: typeof job['error'] === 'string' ? job['error'] : null,
    }));
  }

  /** POST …/perms: replaces the rules (the server writes nothing when they are the same). */
  async pushPerms(code: Record<string, unknown>, signal: AbortSignal): Promise<void> {
    await this.send('POST', `${this.appPath}/perms`, JSON.stringify({ code }), signal);
  }

  /**
   * POST /admin/refresh_tokens: finds or creates the `$users` row with this id (or email). The
   * fallback for servers that refuse to create `$users` rows in a transaction.
   */
  async ensureUser(user: { id: string; email?: string }, signal: AbortSignal): Promise<void> {
    await this.send('POST', '/admin/refresh_tokens', JSON.stringify(user), signal);
  }

  close(): void {
    if (this.ownTransport) this.transport.close();
  }

  private get appPath(): string {
    return `/superadmin/apps/${encodeURIComponent(this.appId)}`;
  }

  /** Sends one request, retrying what may pass later; resolves with the parsed 200 answer. */
  private async send<T = Record<string, unknown>>(
    method: string,
    path: string,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<Answer<T>> {
    const { attempts = 5, backoff = { baseMs: 500, maxMs: 30_000 }, random = Math.random } = this.options;
    let failures = 0;
    let rateLimited = 0;
    for (;;) {
      await this.pause.wait(signal);
      try {
        return await this.sendOnce<T>(method, path, body, signal);
      } catch (error) {
        if (!(error instanceof CopyError) || !error.retryable) throw error;
        if (error.status === 429) {
          if (++rateLimited > MAX_RATE_LIMITED) throw error;
          this.pause.pauseFor(error.retryAfterMs ?? backoffDelay(rateLimited, backoff, random));
          continue;
        }
        if (++failures >= attempts) throw error;
        await sleep(this.clock, error.retryAfterMs ?? backoffDelay(failures, backoff, random), signal);
      }
    }
  }

  private async sendOnce<T>(method: string, path: string, body: string | undefined, signal: AbortSignal) {
    if (signal.aborted) throw new AbortedError();
    const timeoutMs = this.options.timeoutMs ?? 60_000;
    let answer;
    try {
      answer = await withDeadline(
        this.clock,
        timeoutMs,
        (deadline) =>
          this.transport.request(this.base + path, {
            method,
            signal: AbortSignal.any([deadline, signal]),
            maxBytes: MAX_ANSWER_BYTES,
            headers: {
              'app-id': this.appId,
              authorization: `Bearer ${this.address.adminToken}`,
              ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            },
            ...(body === undefined ? {} : { body }),
          }),
        () => new CopyError('unavailable', `${method} ${path} did not answer within ${timeoutMs} ms`),
      );
    } catch (error) {
      if (error instanceof CopyError) throw error;
      if (signal.aborted) throw new AbortedError();
      if (error instanceof BodyTooLargeError)
        throw new CopyError('rejected', `${method} ${path}: ${error.message}`, { status: error.status });
      const reason = error instanceof Error ? error.message : String(error);
      throw new CopyError('unavailable', `${method} ${path}: no answer (${reason})`, { cause: error });
    }
    if (answer.status !== 200)
      throw classifyAnswer(method, path, answer.status, answer.body, answer.headers, this.clock);
    try {
      return { body: JSON.parse(answer.body) as T, bytes: Buffer.byteLength(answer.body) };
    } catch {
      throw new CopyError('unavailable', `${method} ${path} answered 200 with a body that is not JSON`, {
        status: 200,
      });
    }
  }
}

/** A refusal as a CopyError: from its type and message only, never its hint. */
function classifyAnswer(
  method: string,
  path: string,
  status: number,
  text: string,
  headers: Headers,
  clock: Clock,
): CopyError {
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (a proxy's page): nothing in it is repeated
  }
  const info = readInstantError(status, parsed, clock.now(), headers.get('retry-after'));
  const what = `${method} ${path}`;
  const options = { status, ...(info.type ? { type: info.type } : {}) };
  // The per-app Platform routes refuse an unknown admin token as `Record not found: token` (routes.clj req->superadmin-app!).
  const meaning =
    info.type === 'record-not-found' && info.message === 'Record not found: token' ? 'token-rejected' : info.meaning;
  switch (meaning) {
    case 'rate-limited':
    case 'unavailable':
      return new CopyError('unavailable', `${what}: ${info.detail}`, { ...options, retryAfterMs: info.retryAfterMs });
    case 'token-rejected':
      return new CopyError(
        'token-rejected',
        `${what}: the app's admin token or id was not accepted (${info.detail})`,
        options,
      );
    case 'unexpected-status':
      return new CopyError('unavailable', `${what}: unexpected HTTP ${status}`, options);
    default:
      return new CopyError('rejected', `${what}: ${info.detail}`, options);
  }
}
