/** Child processes for the chaos run: the sandbox and daemons, as the built CLI. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The built CLI, whether this file runs from test/ (vitest) or from dist/test/ (npm run chaos). */
export function cliPath(): string {
  const here = fileURLToPath(import.meta.url);
  const root = here.includes('/dist/') ? here.slice(0, here.indexOf('/dist/')) : here.slice(0, here.indexOf('/test/'));
  return `${root}/dist/src/cli/main.js`;
}

export interface SandboxProcess {
  env: Record<string, string>;
  url: string;
  platformToken: string;
  appId: string;
  adminToken: string;
  stop(): Promise<void>;
}

/** Starts `instant-provisioner sandbox` on a free port and reads the environment it prints. */
export async function spawnSandbox(seed: number, flags: string[] = []): Promise<SandboxProcess> {
  const child = spawn(process.execPath, [cliPath(), 'sandbox', '--port', '0', '--seed', String(seed), ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const env: Record<string, string> = {};
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = /^export (\w+)=(.*)$/.exec(line.trim());
      if (match) env[match[1]!] = match[2]!;
      if (env.INSTANT_API_URI && env.INSTANT_APP_ID && env.INSTANT_ADMIN_TOKEN && env.INSTANT_PLATFORM_TOKEN) resolve();
    });
    child.on('exit', (code) => reject(new Error(`sandbox exited with ${code}: ${stderr}`)));
  });
  return {
    env,
    url: env.INSTANT_API_URI!,
    platformToken: env.INSTANT_PLATFORM_TOKEN!,
    appId: env.INSTANT_APP_ID!,
    adminToken: env.INSTANT_ADMIN_TOKEN!,
    stop: () => stopProcess(child, 'SIGTERM'),
  };
}

/** A daemon process and everything it printed. */
export class DaemonProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly listeners = new Set<(entry: Record<string, unknown>) => void>();
  private readonly child: ChildProcessWithoutNullStreams;
  /** Set when we sent SIGKILL. */
  killed = false;
  /** The exit code once the process is gone (null when a signal ended it). */
  exitedCode: number | null | undefined = undefined;

  constructor(
    readonly name: string,
    env: Record<string, string>,
    args: string[],
  ) {
    this.child = spawn(process.execPath, [cliPath(), 'reconcile', ...args], {
      env: { PATH: process.env.PATH ?? '', ...env, LOG_FORMAT: 'json' },
    });
    const record = (line: string) => {
      this.lines.push(line);
      let entry: Record<string, unknown> | null = null;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      for (const listener of [...this.listeners]) listener(entry);
    };
    createInterface({ input: this.child.stdout }).on('line', record);
    createInterface({ input: this.child.stderr }).on('line', record);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code) => {
        this.exitedCode = code;
        resolve(code);
      }),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Calls `listener` for each JSON log line from now on; returns an unsubscribe. */
  onEntry(listener: (entry: Record<string, unknown>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves at the first log entry with `message`; rejects if the process exits or time runs out first. */
  waitFor(message: string, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`${this.name}: no "${message}" within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const stop = this.onEntry((entry) => entry.msg === message && finish(null, entry));
      void this.exited.then((code) => finish(new Error(`${this.name} exited (${code}) before "${message}"`)));
      function finish(error: Error | null, entry?: Record<string, unknown>) {
        clearTimeout(timer);
        stop();
        if (error) reject(error);
        else resolve(entry!);
      }
    });
  }

  /** SIGKILL: no cleanup, no drain; what a crash or an OOM kill does. */
  kill(): void {
    this.killed = true;
    this.child.kill('SIGKILL');
  }

  /** SIGTERM and wait for the exit code. */
  async terminate(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }

  /** Log entries with this message. */
  entries(message: string): Array<Record<string, unknown>> {
    return this.lines.flatMap((line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        return entry.msg === message ? [entry] : [];
      } catch {
        return [];
      }
    });
  }
}

async function stopProcess(
  child: ChildProcessWithoutNullStreams | ReturnType<typeof spawn>,
  signal: NodeJS.Signals,
): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  child.kill(signal);
  await exited;
}
