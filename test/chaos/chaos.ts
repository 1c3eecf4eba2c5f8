/**
 * The chaos run: real processes (the sandbox and daemons, as the built CLI), real
 * faults, SIGKILL at random moments, two daemons during a "deploy", tasks created
 * the whole time the way a browser would. Then faults off, one daemon settles,
 * and the promise is audited: every task has exactly one ready database, every
 * other app ever created was deleted by the daemons, and no token was logged.
 */
import { id, init } from '@instantdb/admin';
import schema from '../../instant.schema.js';
import type { CreatePath } from '../../src/core/types.js';
import { auditWorld, linesWithSecrets, type Audit, type MainDb, type SandboxApp } from './audit.js';
import { mulberry32 } from '../../src/sandbox/rng.js';
import { DaemonProcess, spawnSandbox, type SandboxProcess } from './processes.js';

export interface ChaosProfile {
  name: string;
  /** Length of the faulty part of the run. */
  durationMs: number;
  tasks: number;
  /** Mean time between kills (uniform in [0.5, 1.5] × this). */
  killEveryMs: number;
  /** Share of kills aimed at the moment a daemon has just created an app. */
  windowKillShare: number;
  /** Fraction of the run [from, to) during which two daemons run at once. */
  overlap: [number, number];
  /** How long the last daemon may take to settle everything. */
  settleTimeoutMs: number;
}

export const PROFILES: Record<'ci' | 'long', ChaosProfile> = {
  ci: {
    name: 'ci',
    durationMs: 40_000,
    tasks: 250,
    killEveryMs: 2_500,
    windowKillShare: 0.5,
    overlap: [0.3, 0.6],
    settleTimeoutMs: 60_000,
  },
  long: {
    name: 'long',
    durationMs: 200_000,
    tasks: 2_000,
    killEveryMs: 2_500,
    windowKillShare: 0.5,
    overlap: [0.25, 0.6],
    settleTimeoutMs: 120_000,
  },
};

/** Faults while the run is on; about the shares the reliability issue asks for. */
export const FAULTS = {
  createLatency: { kind: 'uniform', min: 20, max: 120 },
  p500: 0.2,
  p429: 0.1,
  retryAfter: 1,
  pHang: 0.05,
  pLost: 0.05,
  sseDropEvery: 3_000,
  pTransactFail: 0.02,
  transactLatency: { kind: 'uniform', min: 2, max: 25 },
} as const;

/** Daemon settings scaled down so leases, timeouts and backoffs play out many times per run. */
export const DAEMON_ARGS = [
  '--concurrency',
  '16',
  '--request-timeout',
  '1000',
  '--lease',
  '3000',
  '--settle-margin',
  '500',
  '--backoff-base',
  '50',
  '--backoff-max',
  '1000',
  '--resync-interval',
  '3000',
  '--shutdown-grace',
  '3000',
  // Failing a task is not what this run is about: with 35% of creates failing, five
  // attempts would give up on a few tasks by pure chance.
  '--max-attempts',
  '1000',
  // The aimed kills wait for 'app created', a debug line.
  '--log-level',
  'debug',
];

export interface ChaosReport {
  profile: string;
  seed: number;
  /** The create path the daemons chose (`--create-via auto`) on this run's sandbox. */
  path: CreatePath;
  /** Account listings the run made (GET /superadmin/apps): none on the chosen-id path. */
  listings: number;
  tasks: number;
  kills: number;
  /** Kills that landed after a daemon made an app and before it recorded it. */
  windowKills: number;
  daemonsStarted: number;
  faults: Record<string, number>;
  orphansCreated: number;
  orphansCollected: number;
  settleMs: number;
  settleExitCode: number | null;
  logLines: number;
  violations: string[];
}

/**
 * One chaos run on the create path `path`: the daemons run `--create-via auto`, against a sandbox
 * that lets them choose app ids (chosen-id) or one that refuses, as Instant Cloud does (server-id).
 */
export async function runChaos(
  profile: ChaosProfile,
  seed: number,
  path: CreatePath,
  log: (line: string) => void = () => {},
): Promise<ChaosReport> {
  const random = mulberry32(seed);
  const sandbox = await spawnSandbox(seed, path === 'server-id' ? ['--cloud'] : []);
  const db = init({ appId: sandbox.appId, adminToken: sandbox.adminToken, apiURI: sandbox.url, schema });
  const daemons: DaemonProcess[] = [];
  const violations: string[] = [];
  let kills = 0;
  const start = () => {
    const daemon = new DaemonProcess(`daemon-${daemons.length + 1}`, sandbox.env, DAEMON_ARGS);
    daemons.push(daemon);
    return daemon;
  };
  const running = () => daemons.filter((daemon) => !daemon.killed && daemon.exitedCode === undefined);

  try {
    await control(sandbox, 'POST', FAULTS);
    start();
    const startedAt = Date.now();
    const creating = createTasksOverTime(db, profile.tasks, profile.durationMs * 0.9, random);

    // The killer: one kill at a time, a replacement right after.
    while (Date.now() - startedAt < profile.durationMs) {
      await sleep(profile.killEveryMs * (0.5 + random()));
      const elapsed = (Date.now() - startedAt) / profile.durationMs;
      const wantTwo = elapsed >= profile.overlap[0] && elapsed < profile.overlap[1];
      const alive = running();
      const victim = alive[Math.floor(random() * alive.length)];
      if (victim) {
        if (random() < profile.windowKillShare) await killAfterNextCreate(victim, 2_000);
        else victim.kill();
        kills++;
      }
      await sleep(100 + random() * 300);
      while (running().length < (wantTwo ? 2 : 1)) start();
      if (!wantTwo) while (running().length > 1) (running()[0]!.kill(), kills++);
      log(`${Math.round(elapsed * 100)}%: ${kills} kills, ${daemons.length} daemons started`);
    }
    await creating;

    // Settle: faults off, every daemon gone, one clean daemon finishes the job.
    await control(sandbox, 'DELETE');
    for (const daemon of running()) (daemon.kill(), kills++);
    const settleStart = Date.now();
    const settler = start();
    const reconciling = await settler.waitFor('reconciling', 30_000);
    if (reconciling.createVia !== path)
      violations.push(`the daemons chose ${String(reconciling.createVia)}, not ${path}`);
    let audit: Audit | undefined;
    while (Date.now() - settleStart < profile.settleTimeoutMs) {
      audit = await auditWorld(db, await inspectApps(sandbox), sandbox.appId);
      if (audit.violations.length === 0 && audit.tasks === profile.tasks) break;
      await sleep(500);
    }
    const settleMs = Date.now() - settleStart;
    const settleExitCode = await settler.terminate();
    const apps = await inspectApps(sandbox);
    audit = await auditWorld(db, apps, sandbox.appId);
    violations.push(...audit.violations);
    if (audit.tasks !== profile.tasks) violations.push(`${audit.tasks} tasks exist, ${profile.tasks} were created`);
    if (settleExitCode !== 0) violations.push(`the settling daemon exited with ${settleExitCode} on SIGTERM`);

    const lines = daemons.flatMap((daemon) => daemon.lines);
    const leaks = linesWithSecrets(lines, [
      sandbox.platformToken,
      sandbox.adminToken,
      ...audit.adminTokens,
      // Every app's token, orphans' included: a lost create's answer must not be logged either.
      ...apps.map((app) => app.adminToken),
    ]);
    if (leaks.length > 0) violations.push(`${leaks.length} log lines contain a token, e.g. ${leaks[0]!.slice(0, 120)}`);

    const stats = (await control(sandbox, 'GET')) as { faults: Record<string, number>; lists: number };
    if (path === 'chosen-id' && stats.lists > 0)
      violations.push(`${stats.lists} account listings on the chosen-id path`);
    return {
      profile: profile.name,
      seed,
      path,
      listings: stats.lists,
      tasks: audit.tasks,
      kills,
      windowKills: countWindowKills(daemons),
      daemonsStarted: daemons.length,
      faults: stats.faults,
      orphansCreated: audit.orphansCreated,
      orphansCollected: audit.orphansCollected,
      settleMs,
      settleExitCode,
      logLines: lines.length,
      violations,
    };
  } finally {
    for (const daemon of running()) daemon.kill();
    await sandbox.stop();
  }
}

/**
 * Kills `daemon` the moment it logs "app created" (its next step is to record the
 * app), or after `waitMs` if it creates nothing meanwhile.
 */
function killAfterNextCreate(daemon: DaemonProcess, waitMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(finish, waitMs);
    const stop = daemon.onEntry((entry) => entry.msg === 'app created' && finish());
    function finish() {
      clearTimeout(timer);
      stop();
      daemon.kill();
      resolve();
    }
  });
}

/**
 * Kills that landed between a create and its record: the killed daemon made an app it never
 * recorded ready. The next daemon deletes it and creates another (server-id), or finds it by its
 * id and records it (chosen-id).
 */
function countWindowKills(daemons: DaemonProcess[]): number {
  let hits = 0;
  for (const daemon of daemons.filter((d) => d.killed)) {
    const readied = new Set(daemon.entries('database ready').map((entry) => entry.appId));
    const stranded = daemon.entries('app created').filter((entry) => !readied.has(entry.appId));
    // A kill strands at most the creates in flight; count the kill once.
    if (stranded.length > 0) hits++;
  }
  return hits;
}

/** Creates `count` tasks in small batches spread over `overMs`, retrying batches the sandbox fails. */
async function createTasksOverTime(db: MainDb, count: number, overMs: number, random: () => number): Promise<void> {
  const batches = Math.max(1, Math.round(overMs / 250));
  const perBatch = Math.ceil(count / batches);
  for (let made = 0; made < count;) {
    const size = Math.min(perBatch, count - made);
    const ids = Array.from({ length: size }, () => id());
    const steps = ids.map((taskId) =>
      db.tx.tasks[taskId]!.update({ title: `chaos task ${made}`, createdAt: Date.now() }),
    );
    for (let attempt = 0; ; attempt++) {
      try {
        await db.transact(steps);
        break;
      } catch (error) {
        if (attempt > 50) throw error;
        await sleep(20);
      }
    }
    made += size;
    await sleep(250 * (0.5 + random()));
  }
}

async function control(sandbox: SandboxProcess, method: 'GET' | 'POST' | 'DELETE', body?: unknown): Promise<unknown> {
  const path = method === 'GET' ? '/__sandbox/stats' : '/__sandbox/faults';
  const response = await fetch(sandbox.url + path, {
    method,
    headers: { authorization: `Bearer ${sandbox.platformToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

async function inspectApps(sandbox: SandboxProcess): Promise<SandboxApp[]> {
  const response = await fetch(`${sandbox.url}/__sandbox/apps?tokens=1`, {
    headers: { authorization: `Bearer ${sandbox.platformToken}` },
  });
  return ((await response.json()) as { apps: SandboxApp[] }).apps;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
