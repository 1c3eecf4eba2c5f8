import { sleep, type Clock } from '../../src/clock.js';
import type { IndexingJob, PlatformClient, SchemaStep, TemplateClient } from '../../src/core/ports.js';
import type { AppTemplate, ChosenApp, CreatedApp, ListedApp, ListingFilter } from '../../src/core/types.js';
import { PlatformError } from '../../src/errors.js';

/** What the next create does. */
export type CreateBehavior =
  | { kind: 'ok' }
  | { kind: 'fail'; error: PlatformError }
  /** The app is made, but the answer never arrives (connection reset). */
  | { kind: 'lost' }
  /** The connection drops at once, while the request still travels: the app appears `landsAfterMs` later. */
  | { kind: 'dropped'; landsAfterMs: number }
  /** The app is made, then the server answers 500. */
  | { kind: 'created-then-500' }
  /** The app is made, then applying its schema fails: the server answers 400 (a template create). */
  | { kind: 'created-then-400' }
  /** Only the app row is written (no rules, no schema), then the server answers 500: a crash in between. */
  | { kind: 'bare-then-500' }
  /** No answer until the caller gives up; with `landsAfterMs`, the app appears that long after the request. */
  | { kind: 'hang'; landsAfterMs?: number };

export interface FakeApp {
  id: string;
  title: string;
  adminToken: string;
  createdAt: number;
  deletedAt: number | null;
  /** The template the app was created with. */
  template: AppTemplate | null;
}

/** The Platform API in memory, with scripted create outcomes and latency on a fake clock. */
export class FakePlatform implements PlatformClient, TemplateClient {
  readonly apps = new Map<string, FakeApp>();
  private readonly script: CreateBehavior[] = [];
  private counter = 0;
  latencyMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly calls = { create: 0, createWithId: 0, get: 0, probe: 0, list: 0, delete: 0 };
  /** Whether `POST /dash/apps` (chosen ids) is open to us; refused as Instant Cloud refuses it. */
  chosenIds: 'allowed' | 'refused' = 'allowed';
  /** Errors the next list / delete calls throw, in order. */
  readonly listFailures: PlatformError[] = [];
  readonly deleteFailures: PlatformError[] = [];
  /** Send times of every create, for pacing assertions. */
  readonly createTimes: number[] = [];
  /** Errors the next template requests (schema push, perms push, plan, get perms) throw, in order. */
  readonly templateFailures: PlatformError[] = [];
  /** Polls an indexing job takes before it completes. */
  jobPolls = 0;
  readonly templateCalls = { plan: 0, push: 0, jobs: 0, getPerms: 0, pushPerms: 0 };
  private readonly jobs = new Map<string, { pollsLeft: number; appId: string; error: string | null }>();
  /** Makes the next schema push start a job that ends errored with this reason. */
  failNextJob: string | null = null;

  constructor(private readonly clock: Clock) {}

  /** Queues behaviors for the next creates; afterwards creates succeed. */
  then(...behaviors: CreateBehavior[]): this {
    this.script.push(...behaviors);
    return this;
  }

  async planSchema(appId: string, schema: Record<string, unknown>): Promise<SchemaStep[]> {
    this.templateCalls.plan++;
    this.takeTemplateFailure();
    return this.schemaSteps(this.live(appId), schema);
  }

  async pushSchema(appId: string, schema: Record<string, unknown>) {
    this.templateCalls.push++;
    this.takeTemplateFailure();
    const app = this.live(appId);
    const steps = this.schemaSteps(app, schema);
    app.template = { hash: app.template?.hash ?? '', perms: app.template?.perms ?? {}, schema };
    if (steps.length === 0) return { steps, groupId: null, jobs: [] };
    const groupId = `group-${++this.counter}`;
    this.jobs.set(groupId, { pollsLeft: this.jobPolls, appId, error: this.failNextJob });
    this.failNextJob = null;
    return { steps, groupId, jobs: [this.job(groupId)] };
  }

  async indexingJobs(_appId: string, groupId: string): Promise<IndexingJob[]> {
    this.templateCalls.jobs++;
    this.takeTemplateFailure();
    const job = this.jobs.get(groupId)!;
    job.pollsLeft = Math.max(0, job.pollsLeft - 1);
    return [this.job(groupId)];
  }

  async getPerms(appId: string): Promise<Record<string, unknown> | null> {
    this.templateCalls.getPerms++;
    this.takeTemplateFailure();
    return this.live(appId).template?.perms ?? null;
  }

  async pushPerms(appId: string, perms: Record<string, unknown>): Promise<void> {
    this.templateCalls.pushPerms++;
    this.takeTemplateFailure();
    const app = this.live(appId);
    app.template = { hash: app.template?.hash ?? '', schema: app.template?.schema ?? null, perms };
  }

  liveApps(): FakeApp[] {
    return [...this.apps.values()].filter((app) => app.deletedAt === null);
  }

  appsTitled(title: string): FakeApp[] {
    return [...this.apps.values()].filter((app) => app.title === title);
  }

  async createApp(title: string, template: AppTemplate, signal: AbortSignal): Promise<CreatedApp> {
    this.calls.create++;
    return this.runCreate(() => this.make(title, template), signal);
  }

  async createAppWithId(app: ChosenApp, template: AppTemplate, signal: AbortSignal): Promise<void> {
    this.calls.createWithId++;
    if (this.chosenIds === 'refused')
      throw new PlatformError('creation-disabled', 'the server does not create apps any more', {
        status: 400,
        type: 'app-creation-disabled',
      });
    await this.runCreate(() => {
      // The apps table keeps deleted rows: an id once used is taken for good.
      if (this.apps.has(app.id))
        throw new PlatformError('already-exists', 'Record not unique: apps', {
          status: 400,
          type: 'record-not-unique',
        });
      return this.make(app.title, template, app);
    }, signal);
  }

  async getApp(appId: string): Promise<ListedApp> {
    this.calls.get++;
    const app = this.live(appId);
    return { id: app.id, title: app.title, createdAt: Math.floor(app.createdAt / 1000) * 1000 };
  }

  async probeChosenIds(): Promise<'allowed' | 'refused'> {
    this.calls.probe++;
    return this.chosenIds;
  }

  /** One create as scripted; `make` makes the app (or throws what the server would say instead). */
  private async runCreate(make: () => FakeApp, signal: AbortSignal): Promise<CreatedApp> {
    this.createTimes.push(this.clock.now());
    const later = (ms: number) =>
      this.clock.setTimer(() => {
        try {
          make();
        } catch {
          // A late create whose id is taken makes nothing, as on the server.
        }
      }, ms);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const behavior = this.script.shift() ?? { kind: 'ok' };
      if (behavior.kind === 'hang') {
        if (behavior.landsAfterMs !== undefined) later(behavior.landsAfterMs);
        await new Promise<void>((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
        );
      }
      await this.wait(signal);
      switch (behavior.kind) {
        case 'fail':
          throw behavior.error;
        case 'lost':
          make();
          throw new PlatformError('network', 'socket hang up');
        case 'dropped':
          later(behavior.landsAfterMs);
          throw new PlatformError('network', 'socket hang up');
        case 'created-then-500':
          make();
          throw new PlatformError('server', 'server error (unknown: Something went wrong)', { status: 500 });
        case 'bare-then-500':
          make().template = null;
          throw new PlatformError('server', 'server error (unknown: Something went wrong)', { status: 500 });
        case 'created-then-400':
          make();
          throw new PlatformError('rejected', 'validation-failed: Validation failed for schema', {
            status: 400,
            type: 'validation-failed',
          });
        default: {
          const app = make();
          return { id: app.id, adminToken: app.adminToken };
        }
      }
    } catch (error) {
      if (signal.aborted && !(error instanceof PlatformError))
        throw new PlatformError('timeout', 'the Platform API did not answer in time');
      throw error;
    } finally {
      this.inFlight--;
    }
  }

  async listApps(filter: ListingFilter = {}): Promise<ListedApp[]> {
    this.calls.list++;
    const failure = this.listFailures.shift();
    if (failure) throw failure;
    // Like the real server: whole seconds.
    const apps = this.liveApps().map((app) => ({
      id: app.id,
      title: app.title,
      createdAt: Math.floor(app.createdAt / 1000) * 1000,
    }));
    return apps.filter(
      (app) =>
        (filter.titles?.has(app.title) ?? false) ||
        (filter.createdSince !== undefined && app.createdAt >= filter.createdSince),
    );
  }

  async deleteApp(appId: string): Promise<void> {
    this.calls.delete++;
    const failure = this.deleteFailures.shift();
    if (failure) throw failure;
    const app = this.apps.get(appId);
    if (app && app.deletedAt === null) app.deletedAt = this.clock.now();
  }

  private make(title: string, template: AppTemplate | null = null, chosen?: CreatedApp): FakeApp {
    const n = ++this.counter;
    const app = {
      id: chosen?.id ?? `app-${n}`,
      title,
      adminToken: chosen?.adminToken ?? `admin-token-${n}-secret`,
      createdAt: this.clock.now(),
      deletedAt: null,
      template,
    };
    this.apps.set(app.id, app);
    return app;
  }

  private live(appId: string): FakeApp {
    const app = this.apps.get(appId);
    if (!app || app.deletedAt !== null)
      throw new PlatformError('not-found', 'record-not-found: Record not found: app', {
        status: 400,
        type: 'record-not-found',
      });
    return app;
  }

  private takeTemplateFailure(): void {
    const failure = this.templateFailures.shift();
    if (failure) throw failure;
  }

  /** One add-attr step per entity the app's schema lacks; none when the schemas are equal. */
  private schemaSteps(app: FakeApp, schema: Record<string, unknown>): SchemaStep[] {
    const have = (app.template?.schema?.['entities'] ?? {}) as Record<string, unknown>;
    const want = (schema['entities'] ?? {}) as Record<string, unknown>;
    return Object.keys(want)
      .filter((name) => JSON.stringify(have[name]) !== JSON.stringify(want[name]))
      .map((name) => ({ action: 'add-attr', target: `${name}.id` }));
  }

  private job(groupId: string): IndexingJob {
    const job = this.jobs.get(groupId)!;
    const status = job.pollsLeft > 0 ? 'processing' : job.error ? 'errored' : 'completed';
    return { id: `job-${groupId}`, status, target: 'notes.text', error: status === 'errored' ? job.error : null };
  }

  private async wait(signal: AbortSignal): Promise<void> {
    if (this.latencyMs > 0) await sleep(this.clock, this.latencyMs, signal);
  }
}
