/**
 * The composition root: configuration in, a running provisioner out. The only
 * place that builds real adapters; tests build the same graph with fakes.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import PQueue from 'p-queue';
import { normalizeApiUri } from './api-uri.js';
import { AbortedError, sleep, systemClock, type Clock } from './clock.js';
import { ConfigError, tokenKeys, type Config } from './config.js';
import type { AppCreator } from './core/app-creator.js';
import { AppDirectory } from './core/create-paths/app-directory.js';
import { CreatorByRecord } from './core/create-paths/by-record.js';
import { ChosenIdCreator } from './core/create-paths/chosen-id.js';
import { OrphanSweeper } from './core/create-paths/orphan-sweeper.js';
import { TitleLookupCreator } from './core/create-paths/title-lookup.js';
import { Controller } from './core/controller.js';
import { CreateGate } from './core/create-gate.js';
import type { Logger } from './core/logger.js';
import { PlatformCalls } from './core/platform-calls.js';
import { backoffDelay } from './core/retry-policy.js';
import {
  noTelemetry,
  type AppCopier,
  type Feed,
  type PlatformClient,
  type RecordCatalog,
  type Store,
  type TemplateClient,
  type Telemetry,
} from './core/ports.js';
import { planTemplate, pushTemplate, type ProgressListener, type TemplatePushDeps } from './core/template-push.js';
import type { RetirementPolicy } from './core/retirement.js';
import type { AppTemplate, CreatePath } from './core/types.js';
import { deleteAttributable, planGc, type GcApp, type GcPlan } from './core/operations/garbage-collector.js';
import { retryAllFailed, retryTasks } from './core/operations/retry-failed.js';
import { rotateTokenKey, type RotateSummary } from './core/operations/rotate-token-key.js';
import { backupDatabases, type BackupProgress, type BackupSummary } from './core/operations/backup-databases.js';
import { FileBackupArchives } from './copy/backup-archives.js';
import type { CheckedArchive } from './copy/archive-restore.js';
import { RatePause } from './copy/rate-pause.js';
import { restoreDatabase, type RestoreOutcome } from './core/operations/restore-database.js';
import { AppMigration } from './copy/app-migration.js';
import {
  migrateDatabases,
  planMigration,
  type MigrateDeps,
  type MigrateProgress,
  type MigrateSettings,
  type MigrateSummary,
  type MigrationPlan,
} from './core/operations/migrate-databases.js';
import { openStoredToken } from './store/open-stored-token.js';
import { buildStatusReport, type DaemonState, type StatusReport } from './core/operations/status-report.js';
import { runOnce, type OnceProgressListener, type OnceSummary } from './core/run-once.js';
import { TaskReconciler } from './core/task-reconciler.js';
import { PlatformError, ProvisionerError, StoreError } from './errors.js';
import { EngineAppCopier } from './copy/app-copier.js';
import { InstantFeed } from './feed/instant-feed.js';
import { HttpPlatformClient } from './platform/http-platform-client.js';
import { generateName } from './names/generate-name.js';
import { connectMainDb } from './store/instant-db.js';
import { lockedTemplate } from './template/app-template.js';
import { InstantStore } from './store/instant-store.js';
import { openAdminToken, sealAdminToken } from './token-seal.js';

export interface ProvisionerPorts {
  store: Store & RecordCatalog;
  platform: PlatformClient & TemplateClient;
  feed: Feed;
  copier: AppCopier;
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
      ...tokenSeals(config),
      telemetry,
    }),
    platform: new HttpPlatformClient({
      apiUri: config.apiUri,
      token: config.platformToken,
      orgId: config.orgId,
      clock,
      telemetry,
    }),
    feed: new InstantFeed({
      telemetry,
      db,
      clock,
      logger,
      windowSize: config.windowSize,
      ownerLink: config.ownerLink,
      resubscribe: { baseMs: 500, maxMs: 30_000 },
      random: Math.random,
    }),
    copier: new EngineAppCopier(clock),
    clock,
    random: Math.random,
    newId: randomUUID,
    newName: generateName,
  };
}

/** With a token key, admin tokens are stored sealed, bound to their record, and opened with any configured key (see token-seal.ts). */
function tokenSeals(config: Config): {
  sealToken?: (token: string, recordId: string) => string;
  openToken?: (stored: string, recordId: string) => string;
} {
  const { current, previous } = tokenKeys(config);
  const keys = [...(current ? [current] : []), ...previous];
  return {
    ...(current ? { sealToken: (token: string, recordId: string) => sealAdminToken(token, current, recordId) } : {}),
    ...(keys.length ? { openToken: (stored: string, recordId: string) => openAdminToken(stored, recordId, keys) } : {}),
  };
}

/** What a Provisioner is built with beyond its configuration and ports. */
export interface ProvisionerOptions {
  /** What every new app is created with (default: no schema, locked rules). */
  template?: AppTemplate;
  telemetry?: Telemetry;
}

/** What the create path, once decided, runs with. */
interface CreateWiring {
  path: CreatePath;
  reconciler: TaskReconciler;
  /** The server-id path's sweep for apps no record holds; the chosen-id path leaves none. */
  sweeper: OrphanSweeper | null;
}

/** Everything one process runs, wired together. */
export class Provisioner {
  readonly owner = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  private readonly gate: CreateGate;
  private readonly calls: PlatformCalls;
  private readonly telemetry: Telemetry;
  private wiring: CreateWiring | null = null;
  private decided: Promise<CreatePath> | null = null;
  private starting: Promise<void> | null = null;
  private stopped = false;
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
    this.telemetry = options.telemetry ?? noTelemetry;
    this.template = options.template ?? lockedTemplate();
    this.retirement = { onTaskDelete: config.onTaskDelete, graceMs: config.deleteGraceMs };
    this.gate = new CreateGate(clock, { baseMs: 30_000, maxMs: 600_000 }, random);
    this.gate.onBlocked((error) =>
      logger.error({ kind: error.kind, error: error.message }, explainBlock(error, config)),
    );
    this.gate.onChange((state) => this.telemetry.gateChanged(state));
    this.calls = new PlatformCalls(
      {
        platform: ports.platform,
        gate: this.gate,
        createSlots: new PQueue({ concurrency: config.concurrency }),
        clock,
        telemetry: this.telemetry,
      },
      { owner: this.owner, requestTimeoutMs: config.requestTimeoutMs, settleMarginMs: config.settleMarginMs },
    );
    if (config.createVia !== 'auto') this.wiring = this.wire(config.createVia);
  }

  /**
   * Checks both tokens with one cheap read each (never a listing of the account). Throws the
   * error when one is definitely rejected; a server that is merely unreachable is only logged.
   */
  async verifyAccess(): Promise<void> {
    const { platform, store } = this.ports;
    const checks = await Promise.allSettled([
      store.listUnlinkedTasks(1),
      // Any answer but a rejected token will do: the main app may not even be this account's.
      this.calls.call((signal) => platform.getApp(this.config.appId, signal)),
    ]);
    for (const check of checks) {
      if (check.status === 'fulfilled') continue;
      const error = check.reason;
      if (error instanceof ProvisionerError && error.scope === 'global') {
        throw error instanceof PlatformError ? new Error(explainBlock(error, this.config)) : error;
      }
      if (error instanceof PlatformError && !error.retryable) continue;
      this.logger.warn(
        { error: error instanceof Error ? error.message : String(error) },
        'startup check failed; continuing',
      );
    }
  }

  /**
   * Decides how this daemon's claims make their apps, once: `--create-via auto` asks the server
   * (POST /dash/apps with an empty body creates nothing), retrying while it does not answer;
   * `chosen-id` makes sure the server allows it. Throws when the server refuses what was asked
   * for, or rejects the token.
   */
  prepare(signal?: AbortSignal): Promise<CreatePath> {
    if (this.config.createVia === 'server-id') return Promise.resolve('server-id');
    // Asked once; a failure (a stop, a rejected token) lets a later call ask again.
    this.decided ??= this.decide(signal).catch((error: unknown) => {
      this.decided = null;
      throw error;
    });
    return this.decided;
  }

  private async decide(signal: AbortSignal | undefined): Promise<CreatePath> {
    const answer = await this.probe(signal);
    if (this.config.createVia === 'chosen-id' && answer === 'refused') {
      throw new Error(
        `${this.config.apiUri} does not create apps with chosen ids (POST /dash/apps is refused: Instant Cloud since ` +
          'sign-ups closed, or an old server). Use --create-via auto or server-id.',
      );
    }
    this.wiring ??= this.wire(answer === 'allowed' ? 'chosen-id' : 'server-id');
    return this.wiring.path;
  }

  /** The server's answer to the chosen-id probe; a server that does not answer is asked again, with backoff. */
  private async probe(signal: AbortSignal | undefined): Promise<'allowed' | 'refused'> {
    const { platform, clock, random } = this.ports;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.calls.call((deadline) => platform.probeChosenIds(deadline));
      } catch (error) {
        if (error instanceof ProvisionerError && error.scope === 'global')
          throw error instanceof PlatformError ? new Error(explainBlock(error, this.config)) : error;
        if (!(error instanceof PlatformError) || !error.retryable) throw error;
        const waitMs = backoffDelay(attempt, { baseMs: 1_000, maxMs: 30_000 }, random);
        this.logger.warn(
          { error: error.message, retryInMs: waitMs },
          'could not ask the server how to create apps; asking again',
        );
        await sleep(clock, waitMs, signal);
      }
    }
  }

  /** Builds the reconciler for `path`: its claims' creator, the other path's for records claimed by it, the sweep. */
  private wire(path: CreatePath): CreateWiring {
    const { clock, random, store, platform } = this.ports;
    const { config, telemetry, template } = this;
    const chosen = new ChosenIdCreator(
      { calls: this.calls, store, clock, newId: this.ports.newId },
      path === 'chosen-id',
    );
    const directory = new AppDirectory(platform, clock, config.requestTimeoutMs);
    const titled = new TitleLookupCreator(this.calls, directory, clock, telemetry);
    const creator: AppCreator = new CreatorByRecord(path, chosen, titled);
    const reconciler = new TaskReconciler(
      {
        store,
        creator,
        copier: this.ports.copier,
        clock,
        logger: this.logger,
        random,
        newId: this.ports.newId,
        newName: this.ports.newName,
        template,
        telemetry,
        ownerFreed: (ownerId) => this.controller?.ownerFreed(ownerId),
      },
      {
        owner: this.owner,
        apiUri: normalizeApiUri(config.apiUri),
        leaseMs: config.leaseMs,
        requestTimeoutMs: config.requestTimeoutMs,
        settleMarginMs: config.settleMarginMs,
        giveUpAfterMs: config.giveUpAfterMs,
        maxAttempts: config.maxAttempts,
        backoff: { baseMs: config.backoffBaseMs, maxMs: config.backoffMaxMs },
        retirement: this.retirement,
        maxDatabasesPerOwner: config.maxDatabasesPerOwner,
        forkSourceMissing: config.forkSourceMissing,
      },
    );
    const sweeper =
      path === 'server-id'
        ? new OrphanSweeper(
            directory,
            store,
            platform,
            clock,
            this.logger,
            { requestTimeoutMs: config.requestTimeoutMs, firstLookbackMs: FIRST_SWEEP_LOOKBACK_MS },
            telemetry,
          )
        : null;
    telemetry.createPath(path);
    return { path, reconciler, sweeper };
  }

  /** How this daemon's claims make their apps, once decided (see `prepare`). */
  get createPath(): CreatePath | null {
    return this.wiring?.path ?? null;
  }

  /** Runs until `stop`; under `--create-via auto`, once the server has said how apps are created. */
  start(): void {
    if (this.starting || this.controller) return;
    if (this.wiring) return this.run(this.wiring);
    this.starting = this.prepare().then(
      () => {
        if (!this.stopped && this.wiring) this.run(this.wiring);
      },
      (error: unknown) => {
        if (!(error instanceof AbortedError))
          this.logger.error({ error: error instanceof Error ? error.message : String(error) }, 'could not start');
      },
    );
  }

  private run(wiring: CreateWiring): void {
    this.controller = new Controller(
      {
        reconciler: wiring.reconciler,
        feed: this.ports.feed,
        store: this.ports.store,
        sweeper: wiring.sweeper,
        clock: this.ports.clock,
        logger: this.logger,
        random: this.ports.random,
        telemetry: this.telemetry,
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
      {
        owner: this.owner,
        concurrency: this.config.concurrency,
        apiUri: this.config.apiUri,
        createVia: wiring.path,
        ...(this.config.orgId ? { orgId: this.config.orgId } : {}),
      },
      'reconciling',
    );
  }

  private get leaseSettings() {
    return { owner: this.owner, leaseMs: this.config.leaseMs, settleMarginMs: this.config.settleMarginMs };
  }

  /** Stops taking work and waits for work in flight, at most the shutdown grace. */
  async stop(): Promise<{ drained: boolean }> {
    this.stopped = true;
    await this.starting;
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
      maxAttempts: config.maxAttempts ?? TEMPLATE_PUSH_TRIES,
      backoff: { baseMs: config.backoffBaseMs, maxMs: config.backoffMaxMs },
      pageSize: config.windowSize,
      home: normalizeApiUri(config.apiUri),
    };
  }

  /** The main app's records, read-only (no admin tokens): what the live page shows. */
  get catalog(): RecordCatalog {
    return this.ports.store;
  }

  /** `status`: the report of core/operations/status-report.ts. */
  statusReport(daemon: DaemonState | null): Promise<StatusReport> {
    const retirement = { ...this.retirement, settleMarginMs: this.config.settleMarginMs };
    return buildStatusReport(this.ports.store, this.ports.clock.now(), retirement, daemon);
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
        { tasks, pageSize: this.config.windowSize, home: normalizeApiUri(this.config.apiUri) },
        signal,
        onProgress,
      );
    } finally {
      archives.close();
    }
  }

  /**
   * `restore`: the task's database becomes a new app holding `archive` (checked whole already), on
   * the configured server; see core/operations/restore-database.ts.
   */
  async restore(
    taskId: string,
    archive: CheckedArchive,
    oldApp: 'keep' | 'delete',
    signal: AbortSignal,
    onProgress?: (entities: number, total: number) => void,
  ): Promise<RestoreOutcome> {
    const { config } = this;
    const { clock, random, newId, store } = this.ports;
    const pause = new RatePause(clock);
    const keys = this.tokenKeyList();
    return restoreDatabase(
      {
        store,
        platform: new HttpPlatformClient({
          apiUri: config.apiUri,
          token: config.platformToken,
          orgId: config.orgId,
          clock,
        }),
        openToken: (record, stored) => openStoredToken(record, stored, keys),
        home: normalizeApiUri(config.apiUri),
        pause,
        clock,
        random,
        newId,
        logger: this.logger,
        owner: this.owner,
        requestTimeoutMs: config.requestTimeoutMs,
      },
      {
        taskId,
        archive: archive.into({
          apiUri: config.apiUri,
          pause,
          clock,
          timeoutMs: Math.max(60_000, config.requestTimeoutMs),
        }),
        oldApp,
      },
      signal,
      onProgress,
    );
  }

  /**
   * `migrate`: every ready task database on the configured server (or those of `tasks`) moved to
   * `target` with its app id and admin token; see core/operations/migrate-databases.ts. With
   * `dryRun`, the plan only.
   */
  async migrate(
    target: { apiUri: string; platformToken: string },
    options: { tasks: readonly string[] | 'all'; sourceApp: 'keep' | 'delete'; dryRun: boolean },
    signal: AbortSignal,
    onProgress?: MigrateProgress,
  ): Promise<MigrateSummary | MigrationPlan> {
    const { config } = this;
    const { clock, random, store } = this.ports;
    const keys = this.tokenKeyList();
    const data = new AppMigration({
      sourceApiUri: config.apiUri,
      targetApiUri: target.apiUri,
      clock,
      timeoutMs: Math.max(60_000, config.requestTimeoutMs),
    });
    const deps: MigrateDeps = {
      store,
      catalog: store,
      data,
      source: new HttpPlatformClient({
        apiUri: config.apiUri,
        token: config.platformToken,
        orgId: config.orgId,
        clock,
      }),
      target: new HttpPlatformClient({ apiUri: target.apiUri, token: target.platformToken, clock }),
      sourcePause: data.sourcePause,
      targetPause: data.targetPause,
      openToken: (record, stored) => openStoredToken(record, stored, keys),
      slots: new PQueue({ concurrency: config.concurrency }),
      clock,
      random,
      logger: this.logger,
      owner: this.owner,
      requestTimeoutMs: config.requestTimeoutMs,
    };
    const settings: MigrateSettings = {
      source: normalizeApiUri(config.apiUri),
      target: normalizeApiUri(target.apiUri),
      sourceApp: options.sourceApp,
      tasks: options.tasks,
      pageSize: config.windowSize,
    };
    try {
      return options.dryRun
        ? await planMigration(deps, settings, signal, onProgress)
        : await migrateDatabases(deps, settings, signal, onProgress);
    } finally {
      data.close();
    }
  }

  /** Every configured token key, the current one first: what opens stored admin tokens. */
  private tokenKeyList() {
    const { current, previous } = tokenKeys(this.config);
    return current ? [current, ...previous] : previous;
  }

  private retryDeps() {
    return {
      store: this.ports.store,
      logger: this.logger,
      owner: this.owner,
      home: normalizeApiUri(this.config.apiUri),
    };
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
  async runOnce(signal: AbortSignal, onProgress?: OnceProgressListener): Promise<OnceSummary> {
    await this.prepare(signal);
    const { reconciler, sweeper } = this.wiring!;
    return runOnce(
      {
        reconciler,
        store: this.ports.store,
        gate: this.gate,
        sweeper,
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

/** Tries per app of `template push` for retryable failures, unless --max-attempts says otherwise. */
const TEMPLATE_PUSH_TRIES = 5;

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
