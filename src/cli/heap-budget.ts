/**
 * The daemon holds itself to a memory budget without node flags: `reconcile` runs in a worker
 * thread whose V8 heap is capped (`resourceLimits`), in the same process. Left to its defaults,
 * V8 lets the heap of a busy daemon grow to ~130 MB around a ~25 MB live set before it collects
 * (peak RSS ~250 MB with a 100,000-task backlog); `v8.setFlagsFromString` cannot lower the limit
 * once the heap exists, and a re-exec'd child would double the base RSS and outlive a SIGKILL of
 * its parent. A worker is one process: a SIGKILL ends everything at once, as it should.
 *
 * The main thread only forwards signals and the exit code. In the worker, stdout and stderr
 * write straight to fds 1 and 2, synchronously (as the JSON logger already does), so nothing is
 * lost at exit and lines keep their order; `isTTY` is carried over so pretty logs and the
 * progress bar still appear in a terminal.
 */
import { writeSync } from 'node:fs';
import { constants } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

/** `PROVISIONER_MAX_HEAP_MB`: the worker's old-generation limit; 0 runs in the main thread. */
export const HEAP_BUDGET_ENV = 'PROVISIONER_MAX_HEAP_MB';
const DEFAULT_OLD_GENERATION_MB = 96;
/** Young generation (both semi-spaces): small, so short-lived garbage is collected early. */
const YOUNG_GENERATION_MB = 8;
const FORWARDED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGUSR2'] as const;

interface WorkerTerminal {
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  columns: number | undefined;
}

/**
 * What `start` looks at to run the daemon rather than the demo (config.ts `SETTINGS` appId,
 * adminToken, platformToken, every alias): repeated here so that choosing a budget does not load
 * the configuration code into the main thread; a test keeps the two in step.
 */
export const CREDENTIAL_VARIABLES = [
  'INSTANT_APP_ID',
  'NEXT_PUBLIC_INSTANT_APP_ID',
  'INSTANT_ADMIN_TOKEN',
  'INSTANT_APP_ADMIN_TOKEN',
  'INSTANT_PLATFORM_TOKEN',
  'PLATFORM_TOKEN',
] as const;
const CREDENTIAL_FLAGS = ['--app-id', '--admin-token', '--platform-token'];

/**
 * The budget in MB, or null when the command should run here: it does not run the reconciler, or
 * the budget is turned off. `env` is what the command will see, `.env` included (see env.ts).
 */
export function heapBudgetFor(argv: string[], env: NodeJS.ProcessEnv): number | null {
  if (!isMainThread || !runsReconciler(argv.slice(2), env)) return null;
  const raw = env[HEAP_BUDGET_ENV];
  if (raw === undefined || raw === '') return DEFAULT_OLD_GENERATION_MB;
  const mb = Number(raw);
  if (!Number.isInteger(mb) || mb < 0) {
    process.stderr.write(`instant-provisioner: ${HEAP_BUDGET_ENV} must be a whole number of MB (0: no budget)\n`);
    process.exit(2);
  }
  return mb === 0 ? null : mb;
}

/** `reconcile`, and `start` with credentials (it then runs `reconcile`). */
function runsReconciler([command, ...args]: string[], env: NodeJS.ProcessEnv): boolean {
  // `backup` too: a copy of any size, in flat memory.
  if (command === 'reconcile' || command === 'backup') return true;
  if (command !== 'start') return false;
  const inEnv = CREDENTIAL_VARIABLES.some((name) => (env[name] ?? '').trim() !== '');
  return inEnv || args.some((arg) => CREDENTIAL_FLAGS.some((flag) => arg === flag || arg.startsWith(`${flag}=`)));
}

/** Runs this same script in a worker with `budgetMb` of old generation; resolves with its exit code. */
export function runInHeapBudget(script: URL, budgetMb: number): Promise<number> {
  const terminal: WorkerTerminal = {
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    columns: process.stderr.columns,
  };
  const worker = new Worker(script, {
    argv: process.argv.slice(2),
    workerData: { terminal },
    resourceLimits: { maxOldGenerationSizeMb: budgetMb, maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  });
  for (const signal of FORWARDED_SIGNALS) process.on(signal, () => worker.postMessage({ signal }));
  return new Promise((resolve) => {
    let failure: Error | undefined;
    worker.once('error', (error: Error & { code?: string }) => {
      failure = error;
      const reason =
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `ran out of its ${budgetMb} MB heap budget (raise ${HEAP_BUDGET_ENV})`
          : `failed: ${error.stack ?? error.message}`;
      writeSync(2, `instant-provisioner: the command ${reason}\n`);
    });
    worker.once('exit', (code) => resolve(failure && code === 0 ? 1 : code));
  });
}

/**
 * In the budgeted worker (a no-op elsewhere): synchronous stdio on the real fds, the terminal's
 * `isTTY`, and signals forwarded by the main thread delivered as if the worker had received them.
 */
export function adoptWorkerProcess(): void {
  if (isMainThread || !parentPort) return;
  const { terminal } = workerData as { terminal: WorkerTerminal };
  for (const [stream, fd, isTTY] of [
    [process.stdout, 1, terminal.stdoutIsTTY],
    [process.stderr, 2, terminal.stderrIsTTY],
  ] as const) {
    Object.assign(stream, { isTTY, columns: terminal.columns });
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      // Two calls for writeSync's two overloads (a string, or bytes).
      if (typeof chunk === 'string') writeSync(fd, chunk);
      else writeSync(fd, chunk);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
  parentPort.on('message', (message: { signal?: (typeof FORWARDED_SIGNALS)[number] }) => {
    const { signal } = message;
    if (!signal) return;
    // Nobody listening yet (still starting): the signal's default action, ending the process.
    if (process.listenerCount(signal) === 0) process.exit(128 + constants.signals[signal]);
    // With its name, as node calls a listener of a real signal.
    process.emit(signal, signal);
  });
  // The port must not keep a finished command alive.
  parentPort.unref();
}
