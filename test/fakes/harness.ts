import PQueue from 'p-queue';
import { Provisioner } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import type { AppCreator } from '../../src/core/app-creator.js';
import { AppDirectory } from '../../src/core/create-paths/app-directory.js';
import { CreatorByRecord } from '../../src/core/create-paths/by-record.js';
import { ChosenIdCreator } from '../../src/core/create-paths/chosen-id.js';
import { TitleLookupCreator } from '../../src/core/create-paths/title-lookup.js';
import { CreateGate } from '../../src/core/create-gate.js';
import { PlatformCalls } from '../../src/core/platform-calls.js';
import type { PlatformClient, Store, TemplateClient } from '../../src/core/ports.js';
import type { Config } from '../../src/config.js';
import type { AppTemplate, CreatePath } from '../../src/core/types.js';
import { lockedTemplate } from '../../src/template/app-template.js';
import { FakeClock } from './fake-clock.js';
import { FakeCopier } from './fake-copier.js';
import { FakeFeed } from './fake-feed.js';
import { FakePlatform } from './fake-platform.js';
import { FakeStore } from './fake-store.js';
import { LogSink } from './log-sink.js';

/** What the daemons under test create apps with: no schema, locked rules. */
export const testTemplate = lockedTemplate();

export const testConfig = (overrides: Partial<Config> = {}): Config => ({
  appId: '11111111-1111-4111-8111-111111111111',
  adminToken: 'main-admin-token-secret',
  platformToken: 'per_platform-token-secret',
  apiUri: 'http://127.0.0.1:1',
  orgId: undefined,
  // Most tests are about one path; those of the chosen-id path say so.
  createVia: 'server-id',
  concurrency: 4,
  requestTimeoutMs: 10_000,
  leaseMs: 60_000,
  settleMarginMs: 5_000,
  maxAttempts: 5,
  giveUpAfterMs: 3_600_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  resyncIntervalMs: 300_000,
  windowSize: 256,
  shutdownGraceMs: 25_000,
  onTaskDelete: 'delete',
  ownerLink: 'owner',
  maxDatabasesPerOwner: undefined,
  forkSourceMissing: 'fail',
  deleteGraceMs: 86_400_000,
  templateSchema: undefined,
  templatePerms: undefined,
  tokenKey: undefined,
  tokenKeyId: undefined,
  previousTokenKeys: undefined,
  logLevel: 'info',
  logFormat: 'json',
  httpPort: undefined,
  httpHost: '127.0.0.1',
  httpToken: undefined,
  ...overrides,
});

/** The whole provisioner over fakes: one main app, one Platform API, one clock, any number of daemons. */
export function harness(overrides: Partial<Config> = {}) {
  const clock = new FakeClock();
  const store = new FakeStore();
  const platform = new FakePlatform(clock);
  const feed = new FakeFeed();
  const copier = new FakeCopier(platform, clock);
  const log = new LogSink();
  const config = testConfig(overrides);
  let ids = 0;
  let names = 0;
  const daemon = (options: { feed?: FakeFeed; config?: Partial<Config>; template?: AppTemplate } = {}) =>
    new Provisioner(
      { ...config, ...options.config },
      {
        store,
        platform,
        feed: options.feed ?? feed,
        copier,
        clock,
        random: () => 0.5,
        newId: () => `d0000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
        newName: () => `swift-blue-otter-${++names}`,
      },
      log,
      { template: options.template ?? testTemplate },
    );
  /** Pushes what the three live queries would show now (as the real feed does after every write). */
  const publish = async (to: FakeFeed = feed) => {
    to.pushTasks(await store.listUnlinkedTasks(to.taskWindows.at(-1) ?? config.windowSize));
    to.pushRecords(await store.listUnfinishedRecords(config.windowSize));
    to.pushDetached(await store.listDetachedRecords(config.windowSize));
    to.pushRetryRequests(store.retryRequests());
  };
  /** Every task linked to a ready record whose app is live, and no other live app. */
  const exactlyOneAppPerTask = () => {
    const live = platform.liveApps();
    const problems: string[] = [];
    for (const task of store.tasks.values()) {
      const record = task.mainDatabaseId ? store.records.get(task.mainDatabaseId) : undefined;
      if (!record || record.status !== 'ready') problems.push(`task ${task.id} has no ready record`);
      else if (!live.some((app) => app.id === record.instantAppId))
        problems.push(`task ${task.id}: app ${record.instantAppId} is not live`);
    }
    if (live.length !== store.tasks.size) problems.push(`${live.length} live apps for ${store.tasks.size} tasks`);
    return problems;
  };
  return { clock, store, platform, feed, copier, log, config, daemon, publish, exactlyOneAppPerTask };
}

/**
 * The creator a daemon on `path` builds (see Provisioner.wire), over the given fakes: for tests
 * that drive a TaskReconciler on its own.
 */
export function creatorFor(
  path: CreatePath,
  parts: {
    platform: PlatformClient & TemplateClient;
    store: Pick<Store, 'readAdminToken'>;
    clock: Clock;
    owner: string;
    config?: Partial<Config>;
    newId?: () => string;
  },
): AppCreator {
  const config = testConfig(parts.config);
  const calls = new PlatformCalls(
    {
      platform: parts.platform,
      gate: new CreateGate(parts.clock, { baseMs: 30_000, maxMs: 600_000 }, () => 0.5),
      createSlots: new PQueue({ concurrency: config.concurrency }),
      clock: parts.clock,
    },
    { owner: parts.owner, requestTimeoutMs: config.requestTimeoutMs, settleMarginMs: config.settleMarginMs },
  );
  let ids = 0;
  const newId = parts.newId ?? (() => `c0000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`);
  const chosen = new ChosenIdCreator({ calls, store: parts.store, clock: parts.clock, newId }, path === 'chosen-id');
  const directory = new AppDirectory(parts.platform, parts.clock, config.requestTimeoutMs);
  const titled = new TitleLookupCreator(calls, directory, parts.clock);
  return new CreatorByRecord(path, chosen, titled);
}
