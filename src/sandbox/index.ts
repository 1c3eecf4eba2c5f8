/**
 * The local InstantDB sandbox: an in-memory stand-in for InstantDB's admin and platform
 * endpoints and its client protocol, which the real, unmodified `@instantdb/admin`,
 * `@instantdb/platform`, `@instantdb/core` and `@instantdb/react` (1.0.x, tested with 1.0.67)
 * talk to: pass `sandbox.url` as `apiURI` and `sandbox.websocketURI` as `websocketURI`.
 * See "The sandbox" in the README for what it does and does not do.
 */
import { randomInt } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addAdminRoutes } from './admin-routes.js';
import { AppRegistry, type SandboxAppInfo } from './apps.js';
import { ClientSessions, SESSION_PATH } from './client/session-server.js';
import { addSessionSseRoutes } from './client/sse-routes.js';
import type { SandboxContext } from './context.js';
import { addControlRoutes } from './control-routes.js';
import { FaultInjector, type FaultConfig } from './faults.js';
import { Router } from './http.js';
import { LiveQueries } from './live.js';
import { addPlatformRoutes } from './platform-routes.js';
import { addRuntimeRoutes } from './runtime-routes.js';
import { addSchemaRoutes } from './schema-routes.js';
import { IndexingJobs } from './schema-push.js';
import { seedEntities, type SeedResult, type SeedSpec } from './seed-entities.js';
import { platformTokenForSeed, randomUuid, streamFor } from './rng.js';
import { newCounters, type SandboxStats } from './stats.js';
import { systemClock, type Clock } from '../clock.js';

export type { FaultConfig, FaultKind, LatencySpec } from './faults.js';
export type { SandboxAppInfo } from './apps.js';
export type { SandboxStats } from './stats.js';
export type { SeedResult, SeedSpec } from './seed-entities.js';

/** How to start a sandbox. */
export interface SandboxOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Seeds fault dice, app ids and tokens, so a run can be replayed; random when absent. */
  seed?: number;
  /** The platform (personal access) token, `per_…`; default derived from the seed. */
  platformToken?: string;
  /** Faults active from the start. */
  faults?: Partial<FaultConfig>;
  /** Answer as Instant Cloud does since sign-ups closed: chosen-id creates (`POST /dash/apps`) refused. */
  cloud?: boolean;
  /**
   * Source of serverCreatedAt and app timestamps; default the system clock. With `setTimer`,
   * it also serves the create and transact latencies (so a test can hold them on a fake clock).
   */
  clock?: Pick<Clock, 'now'> & Partial<Pick<Clock, 'setTimer'>>;
}

/** A running sandbox. */
export interface Sandbox {
  /** Base URL, e.g. `http://127.0.0.1:8787`; pass it as `apiURI` to every SDK. */
  readonly url: string;
  /** The client protocol's WebSocket, e.g. `ws://127.0.0.1:8787/runtime/session`; `websocketURI` of `@instantdb/core`/`react`. */
  readonly websocketURI: string;
  /** Accepted by `/superadmin/*` and `/__sandbox/*` (and by `/admin/*` for every app). */
  readonly platformToken: string;
  /** The seed in use (the given one, or the random one chosen). */
  readonly seed: number;
  /** The one organisation, whose admin the platform token's user is (`org_id` on creates). */
  readonly orgId: string;
  /** Creates an app directly (no faults); listed by `apps()` with `via: 'programmatic'`. */
  createApp(opts: { title: string; schema?: unknown; perms?: unknown }): { id: string; adminToken: string };
  /**
   * Adds many entities (and links) to an app at once, without transactions: a big app for tests
   * and benchmarks in seconds. See seed-entities.ts for the spec; throws on a bad one.
   */
  seedEntities(appId: string, spec: SeedSpec): SeedResult;
  /** Fault configuration, changeable while running. */
  readonly faults: { get(): FaultConfig; set(patch: Partial<FaultConfig>): void; reset(): void };
  /** Every app ever created, deleted ones included. */
  apps(): SandboxAppInfo[];
  /** Turns Instant Cloud's refusal of chosen-id creates on or off (see SandboxOptions.cloud). */
  setCloud(on: boolean): void;
  stats(): SandboxStats;
  /** Ends SSE streams and hung requests, and closes the server. */
  close(): Promise<void>;
}

const KEEP_ALIVE_MS = 15_000;

/** Starts a sandbox and resolves once it listens. */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const seed = opts.seed ?? randomInt(2 ** 31);
  const platformToken = opts.platformToken ?? platformTokenForSeed(seed);
  if (!platformToken.startsWith('per_')) throw new Error('platformToken must be a personal access token (per_…)');
  const idDice = streamFor(seed, 'ids');
  const newId = () => randomUuid(idDice);
  const faults = new FaultInjector(seed, opts.faults);
  const clock = opts.clock ?? systemClock;
  const apps = new AppRegistry(newId, newId(), () => clock.now());
  const live = new LiveQueries(KEEP_ALIVE_MS);
  const counters = newCounters();
  const setTimer = opts.clock?.setTimer?.bind(opts.clock) ?? systemClock.setTimer;
  const timers = new Set<() => void>();
  let held = 0;
  let closed = false;
  let txId = 0;

  const delay = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (closed) return;
      const cancel = setTimer(() => {
        timers.delete(cancel);
        resolve();
      }, ms);
      timers.add(cancel);
    });
  const mode = { cloud: opts.cloud ?? false };
  const ctx: SandboxContext = {
    apps,
    platformToken,
    faults,
    mode,
    live,
    counters,
    indexingJobs: new IndexingJobs(newId, delay, () => clock.now()),
    newId,
    nextTxId: () => ++txId,
    lastTxId: () => txId,
    delay,
    hold(res: ServerResponse) {
      held++;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        held--;
        res.off('close', release);
      };
      res.once('close', release);
      return release;
    },
  };
  let sessions: ClientSessions | undefined;
  const stats = (): SandboxStats => ({
    ...counters,
    faults: faults.counts(),
    openSubscriptions: live.openCount,
    clientSessions: sessions?.count ?? 0,
    held,
    recomputes: live.recomputes,
    refreshes: live.refreshes,
  });

  const onUnexpected = (error: unknown) =>
    process.stderr.write(`sandbox: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
  const router = new Router(onUnexpected);
  addAdminRoutes(router, ctx);
  addRuntimeRoutes(router, ctx);
  addPlatformRoutes(router, ctx);
  addSchemaRoutes(router, ctx);
  addControlRoutes(router, ctx, stats);
  const server = createServer({ noDelay: true }, router.listener);
  sessions = new ClientSessions(server, ctx, onUnexpected);
  addSessionSseRoutes(router, sessions);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let dropTimer: NodeJS.Timeout | undefined;
  const armStreamDrops = () => {
    clearInterval(dropTimer);
    const every = faults.get().sseDropEvery;
    if (every > 0 && !closed) {
      dropTimer = setInterval(() => {
        for (let n = live.dropAll(); n > 0; n--) faults.count('sseDrop');
      }, every).unref();
    }
  };
  faults.onChange(armStreamDrops);
  armStreamDrops();

  const hostPort = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: `http://${hostPort}`,
    websocketURI: `ws://${hostPort}${SESSION_PATH}`,
    platformToken,
    seed,
    orgId: apps.org.id,
    createApp(spec) {
      const app = apps.create({ ...spec, via: 'programmatic' });
      counters.programmaticCreates++;
      return { id: app.id, adminToken: app.adminToken };
    },
    seedEntities(appId, spec) {
      const app = apps.live(appId);
      if (!app) throw new Error(`no live sandbox app ${appId}`);
      return seedEntities(app, spec, newId);
    },
    faults: {
      get: () => faults.get(),
      set: (patch) => faults.set(patch),
      reset: () => faults.reset(),
    },
    apps: () => apps.all().map((app) => apps.info(app)),
    setCloud: (on) => {
      mode.cloud = on;
    },
    stats,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(dropTimer);
      for (const cancel of timers) cancel();
      live.close();
      sessions?.close();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
  };
}
