/**
 * The processes a benchmark phase runs: the sandbox and the daemon, each as the built CLI on
 * loopback. The daemon's log goes to a file, not a pipe, so a busy benchmark driver can never
 * slow the daemon down by reading its output late.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Children still running; killed if the benchmark exits early (an error, Ctrl-C). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** The repository root, whether this file runs from bench/ (vitest) or dist/bench/ (npm run bench). */
export function repoRoot(): string {
  const here = fileURLToPath(import.meta.url);
  const marker = here.includes('/dist/bench/') ? '/dist/bench/' : '/bench/';
  return here.slice(0, here.lastIndexOf(marker));
}

/** The built CLI. */
export function cliPath(): string {
  return `${repoRoot()}/dist/src/cli/main.js`;
}

/** The environment a daemon needs, as `instant-provisioner sandbox` prints it. */
export interface MainAppEnv {
  INSTANT_API_URI: string;
  INSTANT_APP_ID: string;
  INSTANT_ADMIN_TOKEN: string;
  INSTANT_PLATFORM_TOKEN: string;
}

export interface SandboxProcess {
  readonly pid: number;
  readonly env: MainAppEnv;
  /** Changes fault settings (e.g. `createLatency`) while running. */
  setFaults(patch: Record<string, unknown>): Promise<void>;
  /** The sandbox's request counters (`/__sandbox/stats`). */
  stats(): Promise<Record<string, number>>;
  /** Platform apps that already exist, made at `createdAtMs` (`/__sandbox/apps/seed`), in the order given. */
  seedApps(titles: string[], createdAtMs: number): Promise<Array<{ id: string; title: string; adminToken: string }>>;
  stop(): Promise<void>;
}

/** Starts `instant-provisioner sandbox` on a free port and reads the environment it prints. */
export async function spawnSandbox(args: string[] = []): Promise<SandboxProcess> {
  const child = track(
    spawn(process.execPath, [cliPath(), 'sandbox', '--port', '0', '--seed', '1', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const found: Record<string, string> = {};
  const env = await new Promise<MainAppEnv>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match = /^export (\w+)=(.*)$/.exec(line.trim());
      if (match) found[match[1]!] = match[2]!;
      if (found.INSTANT_API_URI && found.INSTANT_APP_ID && found.INSTANT_ADMIN_TOKEN && found.INSTANT_PLATFORM_TOKEN)
        resolve(found as unknown as MainAppEnv);
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code} before it was ready: ${stderr}`)));
  });
  const control = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${env.INSTANT_API_URI}/__sandbox/${path}`, {
      method,
      headers: { authorization: `Bearer ${env.INSTANT_PLATFORM_TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`sandbox ${method} ${path}: HTTP ${response.status} ${await response.text()}`);
    return response.json() as Promise<Record<string, unknown>>;
  };
  return {
    pid: child.pid!,
    env,
    setFaults: async (patch) => void (await control('POST', 'faults', patch)),
    stats: async () => {
      const stats = await control('GET', 'stats');
      return Object.fromEntries(Object.entries(stats).filter(([, v]) => typeof v === 'number')) as Record<
        string,
        number
      >;
    },
    seedApps: async (titles, createdAtMs) => {
      const { apps } = await control('POST', 'apps/seed', { titles, createdAt: createdAtMs });
      return apps as Array<{ id: string; title: string; adminToken: string }>;
    },
    stop: () => stopProcess(child),
  };
}

export interface DaemonProcess {
  readonly pid: number;
  /** Sends a signal (e.g. SIGUSR2 for a memory report). */
  signal(name: NodeJS.Signals): void;
  /** Log entries written so far whose message is one of the watched ones (read from the log file). */
  entries(message: string): Array<Record<string, unknown>>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts `instant-provisioner reconcile` with JSON logs written to `logFile`. */
export function spawnDaemon(options: {
  env: MainAppEnv;
  args: string[];
  logFile: string;
  nodeArgs?: string[];
  /** Messages `entries` can return; other lines are skipped unparsed. */
  watch?: string[];
}): DaemonProcess {
  const log = openSync(options.logFile, 'w');
  const child = track(
    spawn(process.execPath, [...(options.nodeArgs ?? []), cliPath(), 'reconcile', ...options.args], {
      env: { PATH: process.env.PATH ?? '', ...heapBudgetEnv(), ...options.env, LOG_FORMAT: 'json' },
      stdio: ['ignore', log, log],
    }),
  );
  closeSync(log);
  const tail = new LogTail(options.logFile, options.watch ?? []);
  return {
    pid: child.pid!,
    signal: (name) => void child.kill(name),
    entries: (message) => {
      tail.read();
      return tail.found.filter((entry) => entry.msg === message);
    },
    stop: () => stopProcess(child),
  };
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Reads a growing JSON-lines file from where it left off, keeping the entries with watched messages. */
class LogTail {
  readonly found: Array<Record<string, unknown>> = [];
  private offset = 0;
  private partial = '';
  private readonly needles: string[];

  constructor(
    private readonly path: string,
    watch: string[],
  ) {
    this.needles = watch.map((message) => `"msg":${JSON.stringify(message)}`);
  }

  read(): void {
    const fd = openSync(this.path, 'r');
    try {
      const chunk = Buffer.alloc(1 << 20);
      for (let n; (n = readSync(fd, chunk, 0, chunk.length, this.offset)) > 0;) {
        this.offset += n;
        const lines = (this.partial + chunk.toString('utf8', 0, n)).split('\n');
        this.partial = lines.pop()!;
        for (const line of lines)
          if (this.needles.some((needle) => line.includes(needle))) this.found.push(JSON.parse(line));
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** The daemon's heap budget passes through when set, so a run can compare budgets (see heap-budget.ts). */
function heapBudgetEnv(): Record<string, string> {
  const mb = process.env.PROVISIONER_MAX_HEAP_MB;
  return mb === undefined ? {} : { PROVISIONER_MAX_HEAP_MB: mb };
}
