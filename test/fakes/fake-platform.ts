import { sleep, type Clock } from '../../src/clock.js';
import type { PlatformClient } from '../../src/core/ports.js';
import type { AppTemplate, CreatedApp, ListedApp } from '../../src/core/types.js';
import { PlatformError } from '../../src/errors.js';

/** What the next create does. */
export type CreateBehavior =
  | { kind: 'ok' }
  | { kind: 'fail'; error: PlatformError }
  /** The app is made, but the answer never arrives (connection reset). */
  | { kind: 'lost' }
  /** The app is made, then the server answers 500. */
  | { kind: 'created-then-500' }
  /** The app is made, then applying its schema fails: the server answers 400 (a template create). */
  | { kind: 'created-then-400' }
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
export class FakePlatform implements PlatformClient {
  readonly apps = new Map<string, FakeApp>();
  private readonly script: CreateBehavior[] = [];
  private counter = 0;
  latencyMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly calls = { create: 0, list: 0, delete: 0 };
  /** Errors the next list / delete calls throw, in order. */
  readonly listFailures: PlatformError[] = [];
  readonly deleteFailures: PlatformError[] = [];
  /** Send times of every create, for pacing assertions. */
  readonly createTimes: number[] = [];

  constructor(private readonly clock: Clock) {}

  /** Queues behaviors for the next creates; afterwards creates succeed. */
  then(...behaviors: CreateBehavior[]): this {
    this.script.push(...behaviors);
    return this;
  }

  liveApps(): FakeApp[] {
    return [...this.apps.values()].filter((app) => app.deletedAt === null);
  }

  appsTitled(title: string): FakeApp[] {
    return [...this.apps.values()].filter((app) => app.title === title);
  }

  async createApp(title: string, template: AppTemplate, signal: AbortSignal): Promise<CreatedApp> {
    this.calls.create++;
    this.createTimes.push(this.clock.now());
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const behavior = this.script.shift() ?? { kind: 'ok' };
      if (behavior.kind === 'hang') {
        if (behavior.landsAfterMs !== undefined)
          this.clock.setTimer(() => this.make(title, template), behavior.landsAfterMs);
        await new Promise<void>((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
        );
      }
      await this.wait(signal);
      switch (behavior.kind) {
        case 'fail':
          throw behavior.error;
        case 'lost':
          this.make(title, template);
          throw new PlatformError('network', 'socket hang up');
        case 'created-then-500':
          this.make(title, template);
          throw new PlatformError('server', 'server error (unknown: Something went wrong)', { status: 500 });
        case 'created-then-400':
          this.make(title, template);
          throw new PlatformError('rejected', 'validation-failed: Validation failed for schema', {
            status: 400,
            type: 'validation-failed',
          });
        default: {
          const app = this.make(title, template);
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

  async listApps(): Promise<ListedApp[]> {
    this.calls.list++;
    const failure = this.listFailures.shift();
    if (failure) throw failure;
    // Like the real server: whole seconds.
    return this.liveApps().map((app) => ({
      id: app.id,
      title: app.title,
      createdAt: Math.floor(app.createdAt / 1000) * 1000,
    }));
  }

  async deleteApp(appId: string): Promise<void> {
    this.calls.delete++;
    const failure = this.deleteFailures.shift();
    if (failure) throw failure;
    const app = this.apps.get(appId);
    if (app && app.deletedAt === null) app.deletedAt = this.clock.now();
  }

  private make(title: string, template: AppTemplate | null = null): FakeApp {
    const n = ++this.counter;
    const app = {
      id: `app-${n}`,
      title,
      adminToken: `admin-token-${n}-secret`,
      createdAt: this.clock.now(),
      deletedAt: null,
      template,
    };
    this.apps.set(app.id, app);
    return app;
  }

  private async wait(signal: AbortSignal): Promise<void> {
    if (this.latencyMs > 0) await sleep(this.clock, this.latencyMs, signal);
  }
}
