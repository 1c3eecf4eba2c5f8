/**
 * The Platform API over HTTP with a platform token: create (with a server-picked or a chosen
 * id), read, list and delete apps, and push a template's schema and rules to an app. Every
 * answer is checked (status, size, zod) before it is believed, and every failure becomes a
 * classified PlatformError. Nothing here retries: the reconciler decides, because a create
 * with a server-picked id must never be re-sent blindly.
 *
 * With `orgId`, apps are created in that organisation and listed from
 * `GET /superadmin/orgs/:id/apps` (org apps are not in the personal listing).
 */
import type { Clock } from '../clock.js';
import {
  noTelemetry,
  type IndexingJob,
  type PlatformClient,
  type PlatformOperation,
  type SchemaStep,
  type TemplateClient,
  type Telemetry,
} from '../core/ports.js';
import type { AppTemplate, ChosenApp, CreatedApp, ListedApp, ListingFilter } from '../core/types.js';
import { MalformedResponseError, PlatformError } from '../errors.js';
import { classifyFailure } from './classify.js';
import { BodyTooLargeError, HttpTransport } from './http-transport.js';
import { AppListingScanner } from './listing-scanner.js';
import { OrgListingScanner } from './org-listing-scanner.js';
import {
  appResponse,
  createAppResponse,
  indexingJobsResponse,
  permsPushResponse,
  permsResponse,
  schemaApplyResponse,
  schemaPlanResponse,
} from './responses.js';
import type { z } from 'zod';

export interface HttpPlatformClientOptions {
  /** e.g. https://api.instantdb.com or your own Instant server. */
  apiUri: string;
  token: string;
  clock: Clock;
  /** Create apps in this organisation, and list its apps; absent: the token user's own apps. */
  orgId?: string | undefined;
  /** Told of every operation: how long it took and how it ended. */
  telemetry?: Telemetry;
}

/** Larger answers are refused: a create or delete answer is a few KB; a list, ~300 bytes per app (streamed, not kept). */
const MAX_BODY_BYTES = { small: 1 << 20, list: 1 << 30 };

export class HttpPlatformClient implements PlatformClient, TemplateClient {
  private readonly base: string;
  private readonly transport: HttpTransport;
  private readonly telemetry: Telemetry;

  constructor(private readonly options: HttpPlatformClientOptions) {
    this.base = options.apiUri.replace(/\/+$/, '');
    this.transport = new HttpTransport(this.base);
    this.telemetry = options.telemetry ?? noTelemetry;
  }

  createApp(title: string, template: AppTemplate, signal: AbortSignal): Promise<CreatedApp> {
    return this.measured('create', () => this.sendCreate(title, template, signal));
  }

  createAppWithId(app: ChosenApp, template: AppTemplate, signal: AbortSignal): Promise<void> {
    return this.measured('create-with-id', () => this.sendCreateWithId(app, template, signal));
  }

  getApp(appId: string, signal: AbortSignal): Promise<ListedApp> {
    return this.measured('get', () => this.sendGetApp(appId, signal));
  }

  probeChosenIds(signal: AbortSignal): Promise<'allowed' | 'refused'> {
    return this.measured('probe', () => this.sendProbe(signal));
  }

  planSchema(appId: string, schema: Record<string, unknown>, signal: AbortSignal): Promise<SchemaStep[]> {
    return this.measured('schema-plan', () => this.sendPlanSchema(appId, schema, signal));
  }

  pushSchema(appId: string, schema: Record<string, unknown>, signal: AbortSignal) {
    return this.measured('schema-push', () => this.sendPushSchema(appId, schema, signal));
  }

  indexingJobs(appId: string, groupId: string, signal: AbortSignal): Promise<IndexingJob[]> {
    return this.measured('indexing-jobs', () => this.sendIndexingJobs(appId, groupId, signal));
  }

  getPerms(appId: string, signal: AbortSignal): Promise<Record<string, unknown> | null> {
    return this.measured('perms-read', () => this.sendGetPerms(appId, signal));
  }

  pushPerms(appId: string, perms: Record<string, unknown>, signal: AbortSignal): Promise<void> {
    return this.measured('perms-push', () => this.sendPushPerms(appId, perms, signal));
  }

  /**
   * POST /superadmin/apps/:id with a new title (superadmin/routes.clj app-update-post: a personal
   * access token with the admin role). A restore renames the old app it keeps, so that nothing
   * takes it for a leftover of the record whose name it carried.
   */
  renameApp(appId: string, title: string, signal: AbortSignal): Promise<void> {
    // The server answers the UPDATE's count, not the row (`{"app": {"next.jdbc/update-count": 1}}`): a 200 is all there is to check.
    return this.measured('rename', async () => void (await this.post(appPath(appId), { title }, signal)));
  }

  listApps(filter: ListingFilter, signal: AbortSignal): Promise<ListedApp[]> {
    return this.measured('list', () => this.sendListApps(filter, signal));
  }

  deleteApp(appId: string, signal: AbortSignal): Promise<void> {
    return this.measured('delete', () => this.sendDeleteApp(appId, signal));
  }

  /** Runs one operation and reports it: 'ok', or the kind of PlatformError it ended with. */
  private async measured<T>(operation: PlatformOperation, run: () => Promise<T>): Promise<T> {
    const start = this.options.clock.now();
    let outcome = 'ok';
    try {
      return await run();
    } catch (error) {
      outcome = error instanceof PlatformError ? error.kind : 'error';
      throw error;
    } finally {
      this.telemetry.platformRequest(operation, outcome, this.options.clock.now() - start);
    }
  }

  private async sendCreate(title: string, template: AppTemplate, signal: AbortSignal): Promise<CreatedApp> {
    // The shape @instantdb/platform's createApp sends: the schema as `i.schema(...)` serialises.
    const request = {
      title,
      perms: template.perms,
      ...(template.schema ? { schema: template.schema } : {}),
      ...this.org(),
    };
    const body = await this.request('POST', '/superadmin/apps', request, signal, MAX_BODY_BYTES.small);
    const parsed = createAppResponse.safeParse(body);
    if (!parsed.success)
      throw new MalformedResponseError(`create answer is unusable at ${describeIssues(parsed.error)}`, { status: 200 });
    return { id: parsed.data.app.id, adminToken: parsed.data.app['admin-token'] };
  }

  private async sendCreateWithId(app: ChosenApp, template: AppTemplate, signal: AbortSignal): Promise<void> {
    // What instant-cli sends (dash/routes.clj apps-post): the rules as `rules.code`, not `perms`.
    const request = {
      id: app.id,
      admin_token: app.adminToken,
      title: app.title,
      rules: { code: template.perms },
      ...(template.schema ? { schema: template.schema } : {}),
      ...this.org(),
    };
    const body = await this.request('POST', '/dash/apps', request, signal, MAX_BODY_BYTES.small);
    // The answer repeats what we sent; only its id is worth checking.
    const parsed = appResponse.safeParse(body);
    if (!parsed.success || parsed.data.app.id !== app.id)
      throw new MalformedResponseError('create answer does not name the app we asked for', { status: 200 });
  }

  private async sendGetApp(appId: string, signal: AbortSignal): Promise<ListedApp> {
    const body = await this.request('GET', appPath(appId), undefined, signal, MAX_BODY_BYTES.small);
    const { app } = this.parse(appResponse, body, 'app');
    return { id: app.id, title: app.title, createdAt: app.created_at };
  }

  private async sendProbe(signal: AbortSignal): Promise<'allowed' | 'refused'> {
    try {
      await this.request('POST', '/dash/apps', {}, signal, MAX_BODY_BYTES.small);
    } catch (error) {
      if (!(error instanceof PlatformError)) throw error;
      // After the token and the sign-up check, the route asks for a title: the route is open to us.
      if (error.type === 'param-missing') return 'allowed';
      // Instant Cloud since sign-ups closed; a server without the route answers 404.
      if (error.kind === 'creation-disabled' || error.status === 404) return 'refused';
      throw error;
    }
    throw new MalformedResponseError('POST /dash/apps accepted an empty body', { status: 200 });
  }

  private async sendPlanSchema(
    appId: string,
    schema: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<SchemaStep[]> {
    const body = await this.post(`${appPath(appId)}/schema/push/plan`, schemaPushBody(schema), signal);
    return this.parse(schemaPlanResponse, body, 'schema plan').steps;
  }

  private async sendPushSchema(appId: string, schema: Record<string, unknown>, signal: AbortSignal) {
    const body = await this.post(`${appPath(appId)}/schema/push/apply`, schemaPushBody(schema), signal);
    const parsed = this.parse(schemaApplyResponse, body, 'schema push');
    const jobs = parsed['indexing-jobs'];
    return { steps: parsed.steps, groupId: jobs?.['group-id'] ?? null, jobs: jobs?.jobs ?? [] };
  }

  private async sendIndexingJobs(appId: string, groupId: string, signal: AbortSignal): Promise<IndexingJob[]> {
    const path = `/dash/apps/${encodeURIComponent(appId)}/indexing-jobs/group/${encodeURIComponent(groupId)}`;
    const body = await this.request('GET', path, undefined, signal, MAX_BODY_BYTES.small);
    return this.parse(indexingJobsResponse, body, 'indexing jobs').jobs;
  }

  private async sendGetPerms(appId: string, signal: AbortSignal): Promise<Record<string, unknown> | null> {
    const body = await this.request('GET', `${appPath(appId)}/perms`, undefined, signal, MAX_BODY_BYTES.small);
    return this.parse(permsResponse, body, 'perms').perms;
  }

  private async sendPushPerms(appId: string, perms: Record<string, unknown>, signal: AbortSignal): Promise<void> {
    // @instantdb/platform's pushPerms sends the rules as `code`.
    const body = await this.post(`${appPath(appId)}/perms`, { code: perms }, signal);
    this.parse(permsPushResponse, body, 'perms push');
  }

  private async sendListApps(filter: ListingFilter, signal: AbortSignal): Promise<ListedApp[]> {
    // An org's rows nest objects (members, webhooks, its rules), which the flat scanner cannot walk.
    const { orgId } = this.options;
    const scanner = orgId ? new OrgListingScanner(filter) : new AppListingScanner(filter);
    const path = orgId ? `/superadmin/orgs/${encodeURIComponent(orgId)}/apps` : '/superadmin/apps';
    await this.request('GET', path, undefined, signal, MAX_BODY_BYTES.list, (chunk) => scanner.write(chunk));
    return scanner.end();
  }

  /** The create body's owner: the configured organisation, else the token's user. */
  private org(): { org_id?: string } {
    return this.options.orgId ? { org_id: this.options.orgId } : {};
  }

  private async sendDeleteApp(appId: string, signal: AbortSignal): Promise<void> {
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
      if (error instanceof PlatformError && error.kind === 'not-found') return;
      throw error;
    }
  }

  private post(path: string, json: unknown, signal: AbortSignal): Promise<unknown> {
    return this.request('POST', path, json, signal, MAX_BODY_BYTES.small);
  }

  /** Checks an answer with zod; an unusable one fails this attempt as malformed. */
  private parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
    const parsed = schema.safeParse(body);
    if (!parsed.success)
      throw new MalformedResponseError(`${what} answer is unusable at ${describeIssues(parsed.error)}`, {
        status: 200,
      });
    return parsed.data;
  }

  /** Sends one request; resolves with the parsed JSON of a 200 answer, throws PlatformError otherwise. */
  private async request(
    method: string,
    path: string,
    json: unknown,
    signal: AbortSignal,
    maxBytes: number,
    sink?: (chunk: Buffer) => void,
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
        ...(sink ? { sink } : {}),
      });
    } catch (error) {
      if (error instanceof PlatformError) throw error;
      if (error instanceof BodyTooLargeError) throw new MalformedResponseError(error.message, { status: error.status });
      throw noAnswer(error, signal);
    }
    if (answer.status !== 200)
      throw classifyFailure(answer.status, answer.body, answer.headers, this.options.clock.now());
    if (sink) return undefined;
    try {
      return JSON.parse(answer.body);
    } catch {
      throw new MalformedResponseError(`${method} ${path} answered 200 with a body that is not JSON`, { status: 200 });
    }
  }
}

function appPath(appId: string): string {
  return `/superadmin/apps/${encodeURIComponent(appId)}`;
}

/** What @instantdb/platform's schemaPush and planSchemaPush send. */
function schemaPushBody(schema: Record<string, unknown>) {
  return { schema, check_types: true, supports_background_updates: true };
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
