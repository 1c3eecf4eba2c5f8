/**
 * The composition root: configuration in, a running provisioner out. The only
 * place that builds real adapters; tests build the same graph with fakes.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import PQueue from 'p-queue';
import { systemClock, type Clock } from './clock.js';
import { ConfigError, tokenKeys, type Config } from './config.js';
import { AppDirectory } from './core/app-directory.js';
import { withDeadline } from './core/deadline.js';
import { Controller } from './core/controller.js';
import { CreateGate } from './core/create-gate.js';
import type { Logger } from './core/logger.js';
import { OrphanSweeper } from './core/orphan-sweeper.js';
import {
  noTelemetry,
  type Feed,
  type PlatformClient,
  type RecordCatalog,
  type Store,
  type TemplateClient,
  type Telemetry,
} from './core/ports.js';
import { planTemplate, pushTemplate, type ProgressListener, type TemplatePushDeps } from './core/template-push.js';
import type { RetirementPolicy } from './core/retirement.js';
import type { AppTemplate } from './core/types.js';
import { deleteAttributable, planGc, type GcApp, type GcPlan } from './core/operations/garbage-collector.js';
import { retryAllFailed, retryTasks } from './core/operations/retry-failed.js';
import { rotateTokenKey, type RotateSummary } from './core/operations/rotate-token-key.js';
import { backupDatabases, type BackupProgress, type BackupSummary } from './core/operations/backup-databases.js';
import { FileBackupArchives } from './copy/backup-archives.js';
import { openStoredToken } from './store/open-stored-token.js';
import { buildStatusReport, type DaemonState, type StatusReport } from './core/operations/status-report.js';
import { runOnce, type OnceProgressListener, type OnceSummary } from './core/run-once.js';
import { TaskReconciler } from './core/task-reconciler.js';
import { PlatformError, ProvisionerError, StoreError } from './errors.js';
import { InstantFeed } from './feed/instant-feed.js';
import { HttpPlatformClient } from './platform/http-platform-client.js';
import { generateName } from './names/generate-name.js';
import { connectMainDb } from './store/instant-db.js';
import { lockedTemplate } from './template/app-template.js';
import { InstantStore } from './store/instant-store.js';
import { sealAdminToken } from './token-seal.js';

export interface ProvisionerPorts {
  store: Store & RecordCatalog;
  platform: PlatformClient & TemplateClient;
  feed: Feed;
  clock: Clock;
  random: () => number;
  newId: () => string;
  newName: () => string;
}

/**
 * Real adapters for `config`; the platform client and the feed report to `telemetry`. Every
 * deadline, lease and backoff runs on `clock` (a test passes a fake one to drive them).
 */
export function connectPorts(
  config: Config,
  logger: Logger,
  telemetry: Telemetry = noTelemetry,
  clock: Clock = systemClock,
): ProvisionerPorts {
  const db = connectMainDb({ appId: config.appId, adminToken: config.adminToken, apiUri: config.apiUri });
  return {
    store: new InstantStore({
      db,
      clock,
      timeoutMs: config.requestTimeoutMs,
      sealToken: tokenSealer(config),
      telemetry,
    }),
    platform: new HttpPlatformClient({ apiUri: config.apiUri, token: config.platformToken, clock, telemetry }),
    feed: new InstantFeed({
      telemetry,
      db,
      clock,
      logger,
      windowSize: config.windowSize,
      resubscribe: { baseMs: 500, maxMs: 30_000 },
      random: Math.random,
    }),
    clock,
    random: Math.random,
    newId: randomUUID,
    newName: generateName,
  };
}

/** With a token key, admin tokens are stored sealed (see token-seal.ts). */
function tokenSealer(config: Config): ((token: string) => string) | undefined {
  const key = tokenKeys(config).current;
  return key ? (token) => sealAdminToken(token, key) : undefined;
}

/** What a Provisioner is built with beyond its configuration and ports. */
export interface ProvisionerOptions {
  /** What every new app is created with (default: no schema, locked rules). */
  template?: AppTemplate;
  telemetry?: Telemetry;
}

/** Everything one process runs, wired together. */
export class Provisioner {
  readonly owner = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  private readonly gate: CreateGate;
  private readonly directory: AppDirectory;
  private readonly reconciler: TaskReconciler;
  private readonly sweeper: OrphanSweeper;
  private controller: Controller | null = null;

  private readonly retirement: RetirementPolicy;
  private readonly template: AppTemplate;

  constructor(
    private readonly config: Config,
    private readonly ports: ProvisionerPorts,
    private readonly logger: Logger,
    options: ProvisionerOptions = {},
  ) {
    const { clock, random } = ports;
    const telemetry = options.telemetry ?? noTelemetry;
    this.template = options.template ?? lockedTemplate();
    this.retirement = { onTaskDelete: config.onTaskDelete, graceMs: config.deleteGraceMs };
    const backoff = { baseMs: config.backoffBaseMs, maxMs: config.backoffMaxMs };
    this.gate = new CreateGate(clock, { baseMs: 30_000, maxMs: 600_000 }, random);
    this.gate.onBlocked((error) =>
      logger.error({ kind: error.kind, error: error.message }, explainBlock(error, config)),
    );
    this.gate.onChange((state) => telemetry.gateChanged(state));
    this.directory = new AppDirectory(ports.platform, clock, config.requestTimeoutMs);
    this.reconciler = new TaskReconciler(
      {
        store: ports.store,
        platform: ports.platform,
        directory: this.directory,
        gate: this.gate,
        createSlots: new PQueue({ concurrency: config.concurrency }),
        clock,
        logger,
        random,
        newId: ports.newId,
        newName: ports.newName,
        template: this.template,
        telemetry,
      },
      {
        owner: this.owner,
        leaseMs: config.leaseMs,
        requestTimeoutMs: config.requestTimeoutMs,
        settleMarginMs: config.settleMarginMs,
        maxAttempts: config.maxAttempts,
        backoff,
        retirement: this.retirement,
      },
    );
    this.sweeper = new OrphanSweeper(
      this.directory,
      ports.store,
      ports.platform,
      clock,
      logger,
      { requestTimeoutMs: config.requestTimeoutMs, firstLookbackMs: FIRST_SWEEP_LOOKBACK_MS },
      telemetry,
    );
  }

  /**
   * Checks both tokens with one cheap read each. Throws the error when one is
   * definitely rejected; a server that is merely unreachable is only logged.
   */
  async verifyAccess(): Promise<void> {
    const { clock, platform, store } = this.ports;
    const checks = await Promise.allSettled([
      store.listUnlinkedTasks(1),
      // A listing that keeps nothing: the token check without holding the account's apps.
      withDeadline(
        clock,
        this.config.requestTimeoutMs,
        (signal) => platform.listApps({}, signal),
        () => new PlatformError('timeout', 'the Platform API did not answer in time'),
      ),
    ]);
    for (const check of checks) {
      if (check.status === 'fulfilled') continue;
      const error = check.reason;
      if (error instanceof ProvisionerError && error.scope === 'global') {
        throw error instanceof PlatformError ? new Error(explainBlock(error, this.config)) : error;
      }
      this.logger.warn(
        { error: error instanceof Error ? error.message : String(error) },
        'startup check failed; continuing',
      );
    }
  }

  /** Runs until `stop`. */
  start(): void {
    if (this.controller) return;
    this.controller = new Controller(
      {
        reconciler: this.reconciler,
        feed: this.ports.feed,
        store: this.ports.store,
        sweeper: this.sweeper,
        clock: this.ports.clock,
        logger: this.logger,
        random: this.ports.random,
      },
      {
        workers: workersFor(this.config),
        windowSize: this.config.windowSize,
        resyncIntervalMs: this.config.resyncIntervalMs,
        errorBackoff: { baseMs: this.config.backoffBaseMs, maxMs: this.config.backoffMaxMs },
        lease: this.leaseSettings,
        retirement: this.retirement,
      },
    );
    this.controller.start();
    this.logger.info(
      { owner: this.owner, concurrency: this.config.concurrency, apiUri: this.config.apiUri },
      'reconciling',
    );
  }

  private get leaseSettings() {
    return { owner: this.owner, leaseMs: this.config.leaseMs, settleMarginMs: this.config.settleMarginMs };
  }

  /** Stops taking work and waits for work in flight, at most the shutdown grace. */
  async stop(): Promise<{ drained: boolean }> {
    return this.controller ? this.controller.stop(this.config.shutdownGraceMs) : { drained: true };
  }

  /** `template push`: the template to every ready database not on it; see core/template-push.ts. */
  pushTemplate(signal: AbortSignal, onProgress?: ProgressListener) {
    return pushTemplate(this.templatePushDeps(), this.templatePushSettings(), signal, onProgress);
  }

  /** `template push --dry-run`: what a push would change. */
  planTemplate(signal: AbortSignal, onProgress?: ProgressListener) {
    return planTemplate(this.templatePushDeps(), this.templatePushSettings(), signal, onProgress);
  }

  private templatePushDeps(): TemplatePushDeps {
    const { store, platform, clock, random } = this.ports;
    return { store, client: platform, gate: this.gate, clock, logger: this.logger, random };
  }

  private templatePushSettings() {
    const { config } = this;
    return {
      template: this.template,
      owner: this.owner,
      concurrency: config.concurrency,
      requestTimeoutMs: config.requestTimeoutMs,
      maxAttempts: config.maxAttempts,
      backoff: { baseMs: config.backoffBaseMs, maxMs: config.backoffMaxMs },
      pageSize: config.windowSize,
    };
  }

  /** The main app's records, read-only (no admin tokens): what the live page shows. */
  get catalog(): RecordCatalog {
    return this.ports.store;
  }

  /** `status`: the report of core/operations/status-report.ts. */
  statusReport(daemon: DaemonState | null): Promise<StatusReport> {
    return buildStatusReport(this.ports.store, this.ports.clock.now(), this.retirement, daemon);
  }

  /** `retry <taskId>...`: the failed records of these tasks back to work. */
  retryTasks(taskIds: readonly string[]) {
    return retryTasks(this.retryDeps(), taskIds);
  }

  /** `retry --failed`: every failed record back to work; resolves with how many. */
  retryAllFailed(): Promise<number> {
    return retryAllFailed(this.retryDeps());
  }

  /** `rotate-token-key`: every stored admin token under the current key; see core/operations/rotate-token-key.ts. */
  rotateTokenKey(onProgress?: (done: number) => void): Promise<RotateSummary> {
    const { current, previous } = tokenKeys(this.config);
    if (!current)
      throw new ConfigError(['PROVISIONER_TOKEN_KEY is not set: there is no key to seal the admin tokens with']);
    return rotateTokenKey(
      { store: this.ports.store, logger: this.logger, owner: this.owner },
      { current, previous },
      onProgress,
    );
  }

  /**
   * `backup`: an archive of every ready database (or of `tasks`) under `outDir`, read with each
   * app's own admin token; see core/operations/backup-databases.ts.
   */
  async backup(
    outDir: string,
    tasks: readonly string[] | 'all',
    signal: AbortSignal,
    onProgress?: BackupProgress,
  ): Promise<BackupSummary> {
    const { current, previous } = tokenKeys(this.config);
    const keys = current ? [current, ...previous] : previous;
    const archives = new FileBackupArchives({
      outDir,
      apiUri: this.config.apiUri,
      clock: this.ports.clock,
      // A page of a big app may take longer than a create.
      timeoutMs: Math.max(60_000, this.config.requestTimeoutMs),
    });
    try {
      return await backupDatabases(
        {
          store: this.ports.store,
          archives,
          openToken: (record, stored) => openStoredToken(record, stored, keys),
          slots: new PQueue({ concurrency: this.config.concurrency }),
          logger: this.logger,
          owner: this.owner,
        },
        { tasks, pageSize: this.config.windowSize },
        signal,
        onProgress,
      );
    } finally {
      archives.close();
    }
  }

  private retryDeps() {
    return { store: this.ports.store, logger: this.logger, owner: this.owner };
  }

  /** `gc`: the account's apps sorted into attributable and not; see core/operations/garbage-collector.ts. */
  planGc(matchNames: boolean): Promise<GcPlan> {
    return planGc(this.gcDeps(), this.gcSettings(matchNames), new Set([this.config.appId]));
  }

  /** `gc --delete`: deletes the attributable apps of `plan`. */
  deleteGc(plan: GcPlan, onDeleted: (app: GcApp) => void): Promise<number> {
    return deleteAttributable(this.gcDeps(), this.gcSettings(false), plan, onDeleted);
  }

  private gcDeps() {
    const { store, platform, clock } = this.ports;
    return { store, platform, clock, logger: this.logger };
  }

  private gcSettings(matchNames: boolean) {
    const { requestTimeoutMs, settleMarginMs } = this.config;
    return { requestTimeoutMs, settleMarginMs, retirement: this.retirement, matchNames };
  }

  /** One pass over everything present now; see core/run-once.ts. */
  runOnce(signal: AbortSignal, onProgress?: OnceProgressListener): Promise<OnceSummary> {
    return runOnce(
      {
        reconciler: this.reconciler,
        store: this.ports.store,
        gate: this.gate,
        sweeper: this.sweeper,
        clock: this.ports.clock,
        logger: this.logger,
        random: this.ports.random,
      },
      {
        workers: workersFor(this.config),
        pageSize: this.config.windowSize,
        errorBackoff: { baseMs: this.config.backoffBaseMs, maxMs: this.config.backoffMaxMs },
        maxErrorsPerTask: 10,
        lease: this.leaseSettings,
        retirement: this.retirement,
      },
      signal,
      onProgress,
    );
  }
}

/** How far back a process's first orphan sweep looks; older orphans are `gc`'s. */
const FIRST_SWEEP_LOOKBACK_MS = 3_600_000;

/** Keys in flight: every create slot busy, and as many again claiming or recording. */
function workersFor(config: Config): number {
  return config.concurrency * 2 + 2;
}

/** One clear sentence on a global condition: what happened and what to do. */
export function explainBlock(error: ProvisionerError, config: Config): string {
  if (error instanceof PlatformError && error.kind === 'creation-disabled') {
    return (
      `${config.apiUri} no longer creates apps (${error.message}). Instant Cloud stopped creating apps in its wind-down; ` +
      'point INSTANT_API_URI at your own Instant server. Creates are paused and retried every few minutes.'
    );
  }
  if (error instanceof PlatformError && error.kind === 'token-rejected') {
    return (
      `${config.apiUri} rejected the platform token (${error.message}). Set INSTANT_PLATFORM_TOKEN to a personal access token ` +
      'of the account that should own the new apps. Creates are paused and retried every few minutes.'
    );
  }
  if (error instanceof StoreError) return error.message;
  return error.message;
}
