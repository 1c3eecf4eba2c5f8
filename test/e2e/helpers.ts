/** End-to-end setup: a sandbox, a main app with the project schema, the real SDK, and the built CLI. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { id, init } from '@instantdb/admin';
import schema from '../../instant.schema.js';
import { Provisioner, connectPorts, type ProvisionerPorts } from '../../src/app.js';
import { systemClock, type Clock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import { noTelemetry } from '../../src/core/ports.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import type { FakeClock } from '../fakes/fake-clock.js';
import { LogSink } from '../fakes/log-sink.js';

export const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export type MainDb = ReturnType<typeof init<typeof schema>>;

export interface World {
  sandbox: Sandbox;
  db: MainDb;
  appId: string;
  /** The sandbox's clock, and that of every in-process daemon of this world. */
  clock: Clock;
  /** The environment a daemon needs for this world. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** A world on `clock` (default the system clock): its sandbox and its in-process daemons keep its time. */
export async function world(options: Omit<SandboxOptions, 'clock'> & { clock?: Clock } = {}): Promise<World> {
  const clock = options.clock ?? systemClock;
  const sandbox = await startSandbox({ seed: 7, ...options, clock });
  const main = sandbox.createApp({ title: 'main', schema });
  const db = init({ appId: main.id, adminToken: main.adminToken, apiURI: sandbox.url, schema });
  return {
    sandbox,
    db,
    appId: main.id,
    clock,
    env: {
      INSTANT_APP_ID: main.id,
      INSTANT_ADMIN_TOKEN: main.adminToken,
      INSTANT_PLATFORM_TOKEN: sandbox.platformToken,
      INSTANT_API_URI: sandbox.url,
    },
    close: () => sandbox.close(),
  };
}

/** Creates `count` tasks the way a browser would: task fields only, in batches. */
export async function createTasks(
  db: MainDb,
  count: number,
  clock: Pick<Clock, 'now'> = systemClock,
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 250) {
    const batch = Array.from({ length: Math.min(250, count - start) }, () => id());
    ids.push(...batch);
    await db.transact(
      batch.map((taskId, i) => db.tx.tasks[taskId]!.update({ title: `task ${start + i}`, createdAt: clock.now() })),
    );
  }
  return ids;
}

/** A provisioner run in the test's process, and what the test may ask of it. */
export interface InProcessDaemon {
  provisioner: Provisioner;
  log: LogSink;
  config: Config;
  /**
   * True when the daemon waits on nothing but time: every store and Platform API call it has
   * in flight is one the sandbox holds on purpose (a hung create, a latency on a fake clock).
   */
  waitsOnlyOnTime(): boolean;
}

/** An in-process provisioner with the real adapters against `w`, on `w`'s clock. */
export function provisioner(w: World, overrides: Record<string, string> = {}): InProcessDaemon {
  const config = loadConfig({ ...w.env, LOG_LEVEL: 'silent' }, overrides);
  const log = new LogSink();
  const calls = { inFlight: 0 };
  const ports = connectPorts(config, log, noTelemetry, w.clock);
  const counted: ProvisionerPorts = {
    ...ports,
    store: countCalls(ports.store, calls),
    platform: countCalls(ports.platform, calls),
  };
  return {
    provisioner: new Provisioner(config, counted, log),
    log,
    config,
    waitsOnlyOnTime: () => calls.inFlight === w.sandbox.stats().held,
  };
}

/** `target` with every call that returns a promise counted in `calls.inFlight` until it settles. */
function countCalls<T extends object>(target: T, calls: { inFlight: number }): T {
  return new Proxy(target, {
    get(object, key) {
      const value: unknown = Reflect.get(object, key, object);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(object, args);
        if (!(result instanceof Promise)) return result;
        calls.inFlight++;
        return result.finally(() => calls.inFlight--);
      };
    },
  });
}

/** What the main app and the sandbox say about "exactly one database per task". */
export async function audit(w: World) {
  const { tasks } = await w.db.query({ tasks: { mainDatabase: {} } });
  const { databases } = await w.db.query({ databases: {} });
  const apps = w.sandbox.apps().filter((app) => app.id !== w.appId);
  const live = new Set(apps.filter((app) => app.deletedAt === null).map((app) => app.id));
  const problems: string[] = [];
  const claimed = new Map<string, string>();
  for (const task of tasks) {
    const record = task.mainDatabase as
      { id: string; status: string; instantAppId?: string | null; taskId: string } | null | undefined;
    if (!record) problems.push(`task ${task.id} has no database`);
    else if (record.status !== 'ready') problems.push(`task ${task.id}: database is ${record.status}`);
    else if (!record.instantAppId || !live.has(record.instantAppId))
      problems.push(`task ${task.id}: app ${record.instantAppId} is not live`);
    else if (claimed.has(record.instantAppId)) problems.push(`app ${record.instantAppId} is used twice`);
    else claimed.set(record.instantAppId, task.id);
  }
  if (live.size !== tasks.length) problems.push(`${live.size} live apps for ${tasks.length} tasks`);
  return { tasks: tasks.length, records: databases.length, apps: apps.length, live: live.size, problems };
}

/** Polls `check` until it holds (real time; for end-to-end tests only). */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Polls `check` until it holds, as `eventually` does, and between polls moves `clock` to its
 * next timer whenever `daemon` waits on nothing but time. So deadlines, leases, backoffs and
 * settle margins pass because the test moved time, never because the wall clock ran, and time
 * never moves under a request still being served. Real time only caps the whole wait.
 */
export async function eventuallyOn(
  clock: FakeClock,
  daemon: Pick<InProcessDaemon, 'waitsOnlyOnTime'>,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  everyMs = 10,
): Promise<void> {
  const checkThenMoveTime = async () => {
    if (await check()) return true;
    if (daemon.waitsOnlyOnTime()) await clock.advanceToNextTimer();
    return false;
  };
  await eventually(checkThenMoveTime, timeoutMs, everyMs).catch((error: Error) => {
    throw new Error(`${error.message} (fake clock at ${clock.now()})`);
  });
}

/** Resolves as `promise` does, moving `clock` meanwhile as `eventuallyOn` does. */
export async function settledOn<T>(
  clock: FakeClock,
  daemon: Pick<InProcessDaemon, 'waitsOnlyOnTime'>,
  promise: Promise<T>,
): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => (settled = true));
  watched.catch(() => {}); // its rejection is the caller's, below
  await eventuallyOn(clock, daemon, () => settled);
  return watched;
}

/** Runs the built CLI; resolves with its exit code and output. */
export function runCli(args: string[], env: Record<string, string>, options: { timeoutMs?: number } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env },
      cwd: fileURLToPath(new URL('.', import.meta.url)),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI timed out: ${args.join(' ')}\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A daemon started through the built CLI, its JSON log lines collected as they come. */
export interface RunningDaemon {
  readonly entries: Array<Record<string, unknown>>;
  /** Resolves with the first log entry whose `msg` is `message`; fails at once if the daemon exits first. */
  waitFor(message: string): Promise<Record<string, unknown>>;
  signal(name: NodeJS.Signals): void;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** The exit code, once it has exited. */
  readonly exited: Promise<number | null>;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
}

export function spawnDaemon(
  args: string[],
  env: Record<string, string>,
  nodeArgs: string[] = [],
  options: { cwd?: string } = {},
): RunningDaemon {
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env, LOG_FORMAT: 'json' },
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const entries: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const waiters: Array<() => void> = [];
  const wakeAll = () => {
    for (const wake of waiters.splice(0)) wake();
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    entries.push(JSON.parse(line) as Record<string, unknown>);
    wakeAll();
  });
  let exitedEarly: string | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      exitedEarly = `the daemon exited (code ${code}, signal ${signal})`;
      wakeAll();
      resolve(code);
    }),
  );
  return {
    entries,
    async waitFor(message) {
      while (!entries.some((entry) => entry.msg === message)) {
        if (exitedEarly) throw new Error(`${exitedEarly} before logging '${message}'`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      return entries.find((entry) => entry.msg === message)!;
    },
    signal: (name) => child.kill(name),
    async stop() {
      if (!exitedEarly) child.kill('SIGTERM');
      return exited;
    },
    exited,
    stderr: () => stderr,
  };
}
