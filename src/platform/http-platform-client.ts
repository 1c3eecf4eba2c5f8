/**
 * The Platform API over HTTP: create, list and delete apps with a platform
 * token. Every answer is checked (status, size, zod) before it is believed, and
 * every failure becomes a classified PlatformError. Nothing here retries: the
 * reconciler decides, because a create must never be re-sent blindly.
 */
import type { Clock } from '../clock.js';
import type { PlatformClient } from '../core/ports.js';
import type { AppTemplate, CreatedApp, ListedApp } from '../core/types.js';
import { MalformedResponseError, PlatformError } from '../errors.js';
import { classifyFailure } from './classify.js';
import { BodyTooLargeError, HttpTransport } from './http-transport.js';
import { createAppResponse, listAppsResponse } from './responses.js';
import type { z } from 'zod';

export interface HttpPlatformClientOptions {
  /** e.g. https://api.instantdb.com or your own Instant server. */
  apiUri: string;
  token: string;
  clock: Clock;
}

/** Larger answers are refused: a create or delete answer is a few KB; a list, about 1 KB per app. */
const MAX_BODY_BYTES = { small: 1 << 20, list: 256 << 20 };

export class HttpPlatformClient implements PlatformClient {
  private readonly base: string;
  private readonly transport: HttpTransport;

  constructor(private readonly options: HttpPlatformClientOptions) {
    this.base = options.apiUri.replace(/\/+$/, '');
    this.transport = new HttpTransport(this.base);
  }

  async createApp(title: string, template: AppTemplate, signal: AbortSignal): Promise<CreatedApp> {
    // The shape @instantdb/platform's createApp sends: the schema as `i.schema(...)` serialises.
    const request = { title, perms: template.perms, ...(template.schema ? { schema: template.schema } : {}) };
    const body = await this.request('POST', '/superadmin/apps', request, signal, MAX_BODY_BYTES.small);
    const parsed = createAppResponse.safeParse(body);
    if (!parsed.success)
      throw new MalformedResponseError(`create answer is unusable at ${describeIssues(parsed.error)}`, { status: 200 });
    return { id: parsed.data.app.id, adminToken: parsed.data.app['admin-token'] };
  }

  async listApps(signal: AbortSignal): Promise<ListedApp[]> {
    const body = await this.request('GET', '/superadmin/apps', undefined, signal, MAX_BODY_BYTES.list);
    const parsed = listAppsResponse.safeParse(body);
    if (!parsed.success)
      throw new MalformedResponseError(`list answer is unusable at ${describeIssues(parsed.error)}`, { status: 200 });
    return parsed.data.apps.map((app) => ({ id: app.id, title: app.title, createdAt: app.created_at }));
  }

  async deleteApp(appId: string, signal: AbortSignal): Promise<void> {
    try {
      await this.request(
        'DELETE',
        `/superadmin/apps/${encodeURIComponent(appId)}`,
        undefined,
        signal,
        MAX_BODY_BYTES.small,
      );
    } catch (error) {
      // Deleting an app that is already gone is success: the real server says 400 record-not-found.
      if (error instanceof PlatformError && error.kind === 'rejected' && error.type === 'record-not-found') return;
      throw error;
    }
  }

  /** Sends one request; resolves with the parsed JSON of a 200 answer, throws PlatformError otherwise. */
  private async request(
    method: string,
    path: string,
    json: unknown,
    signal: AbortSignal,
    maxBytes: number,
  ): Promise<unknown> {
    let answer;
    try {
      answer = await this.transport.request(this.base + path, {
        method,
        signal,
        maxBytes,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: json === undefined ? undefined : JSON.stringify(json),
      });
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw new MalformedResponseError(error.message, { status: error.status });
      throw noAnswer(error, signal);
    }
    if (answer.status !== 200)
      throw classifyFailure(answer.status, answer.body, answer.headers, this.options.clock.now());
    try {
      return JSON.parse(answer.body);
    } catch {
      throw new MalformedResponseError(`${method} ${path} answered 200 with a body that is not JSON`, { status: 200 });
    }
  }
}

function noAnswer(error: unknown, signal: AbortSignal): PlatformError {
  if (signal.aborted) return new PlatformError('timeout', 'the Platform API did not answer in time', { cause: error });
  return new PlatformError('network', `network error talking to the Platform API (${errorText(error)})`, {
    cause: error,
  });
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => issue.path.join('.') || '(body)').join(', ');
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
