/** `npm run bench` flags → the settings of a run. */
import { parseArgs } from 'node:util';
import { CREATE_PATHS, type CreatePath } from '../src/core/types.js';
import type { StatusLatencySettings } from './status-latency.js';

export interface BenchOptions {
  tasks: number;
  latencyMs: number;
  concurrency: number;
  window: number;
  timeToLinkTasks: number;
  /** Arrivals per second in the time-to-link phase. */
  rate: number;
  /** null: skip the backlog phase. */
  backlog: { tasks: number; concurrency: number } | null;
  /** null: skip the sandbox capacity measurement. */
  capacity: { tasks: number; seconds: number; concurrency: number } | null;
  /** Apps already provisioned per account-size run (the first, 0, is the reference); null: skip. */
  accountSizes: number[] | null;
  /** Runs per path and size in the account-size phase; its figures are their medians. */
  accountRepeats: number;
  /** The create paths the account-size and `--once` phases run on, each. */
  createPaths: CreatePath[];
  /** The copy phase: entities copied app → app, and of the big app copied app → archive; null: skip. */
  copy: { entities: number; bigEntities: number | null } | null;
  /** Run the copy phase alone (its results in copy-results.json). */
  onlyCopy: boolean;
  /** The status-latency phase (browsers subscribed to their task's database); null: skip. */
  statusLatency: StatusLatencySettings | null;
  /** Run the status-latency phase alone (its results in status-latency-results.json). */
  onlyStatusLatency: boolean;
  /** The migrate phase: apps moved between two sandboxes against as many creates; null: skip. */
  migrate: { apps: number; latencyMs: number; concurrency: number } | null;
  /** Run the migrate phase alone (its results in migrate-results.json). */
  onlyMigrate: boolean;
  /** Where results.json and time-to-link.svg go. */
  outDir: string;
  /** Extra node flags for every daemon process (default none: Node's own heap sizing). */
  daemonNodeArgs: string[];
}

export const USAGE = `usage: npm run bench -- [flags]
  --n N                 tasks in the throughput phase (default 2000)
  --large               N = 10,000
  --latency MS          Platform create latency L (default 100)
  --concurrency C       daemon --concurrency and inline slots (default 16)
  --window W            daemon --window (default 256)
  --ttl-tasks N         tasks in the time-to-link phase (default min(N, 2000))
  --rate R              time-to-link arrivals per second (default 50% of C/L)
  --backlog N           backlog size (default 100,000)
  --backlog-concurrency C   daemon concurrency in the backlog phase (default 64)
  --skip-backlog        no backlog phase
  --skip-capacity       no sandbox capacity measurement
  --skip-account-size   no account-size phase (0, 50,000 and 100,000 apps already provisioned)
  --account-repeats N   runs per path and size in the account-size phase, medians reported (default 1; 3 with --large)
  --create-paths LIST   the create paths of the account-size and --once phases (default chosen-id,server-id)
  --copy-entities N     entities of the copy phase's app, copied app → app (default 100,000)
  --copy-big N          entities of the copy phase's big app, copied app → archive (default 1,000,000; 0: none)
  --skip-copy           no copy phase
  --only-copy           only the copy phase
  --status-clients N    subscribed browser sessions of the status-latency phase (default 100)
  --status-writes N     status writes of the status-latency phase (default 1,000)
  --status-rate R       status writes per second (default 50)
  --skip-status-latency no status-latency phase
  --only-status-latency only the status-latency phase
  --migrate-apps N      apps moved in the migrate phase (default 1,000), at --concurrency C and L = --latency
  --skip-migrate        no migrate phase
  --only-migrate        only the migrate phase
  --daemon-node-options="FLAGS"   node flags for the daemon, e.g. "--max-old-space-size=128"
  --smoke               tiny sizes, to check that the benchmark works (CI)
  --out DIR             where results.json and time-to-link.svg go (default bench/)`;

export function parseOptions(argv: string[], defaultOutDir: string): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      large: { type: 'boolean', default: false },
      latency: { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '16' },
      window: { type: 'string', default: '256' },
      'ttl-tasks': { type: 'string' },
      rate: { type: 'string' },
      backlog: { type: 'string' },
      'backlog-concurrency': { type: 'string', default: '64' },
      'skip-backlog': { type: 'boolean', default: false },
      'skip-capacity': { type: 'boolean', default: false },
      'skip-account-size': { type: 'boolean', default: false },
      'account-repeats': { type: 'string' },
      'create-paths': { type: 'string', default: CREATE_PATHS.join(',') },
      'copy-entities': { type: 'string' },
      'copy-big': { type: 'string' },
      'skip-copy': { type: 'boolean', default: false },
      'only-copy': { type: 'boolean', default: false },
      'status-clients': { type: 'string' },
      'status-writes': { type: 'string' },
      'status-rate': { type: 'string' },
      'skip-status-latency': { type: 'boolean', default: false },
      'only-status-latency': { type: 'boolean', default: false },
      'migrate-apps': { type: 'string' },
      'skip-migrate': { type: 'boolean', default: false },
      'only-migrate': { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      out: { type: 'string' },
      'daemon-node-options': { type: 'string', default: '' },
    },
    strict: true,
  });
  const smoke = values.smoke;
  const number = (flag: string, raw: string | undefined, fallback: number, min = 1): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min)
      throw new Error(`--${flag} must be a whole number ≥ ${min} (got "${raw}")`);
    return value;
  };
  const tasks = number('n', values.n, smoke ? 50 : values.large ? 10_000 : 2_000);
  const latencyMs = number('latency', values.latency, 100, 0);
  const concurrency = number('concurrency', values.concurrency, 16);
  // Half of what C slots of L ms can take: queueing for a slot would measure throughput, not latency.
  const halfCapacity = Math.min(200, Math.round((0.5 * concurrency * 1000) / Math.max(latencyMs, 1)));
  const backlogTasks = number('backlog', values.backlog, smoke ? 500 : 100_000);
  return {
    tasks,
    latencyMs,
    concurrency,
    window: number('window', values.window, 256),
    timeToLinkTasks: number('ttl-tasks', values['ttl-tasks'], Math.min(tasks, 2_000)),
    rate: number('rate', values.rate, Math.max(1, halfCapacity)),
    backlog: values['skip-backlog']
      ? null
      : { tasks: backlogTasks, concurrency: number('backlog-concurrency', values['backlog-concurrency'], 64) },
    capacity: values['skip-capacity']
      ? null
      : smoke
        ? { tasks: 1_000, seconds: 1, concurrency: 4 }
        : { tasks: 100_000, seconds: 10, concurrency: 16 },
    accountSizes: values['skip-account-size'] ? null : smoke ? [0, 2_000] : [0, 50_000, 100_000],
    accountRepeats: number('account-repeats', values['account-repeats'], values.large ? 3 : 1),
    createPaths: createPaths(values['create-paths']),
    copy: values['skip-copy']
      ? null
      : {
          entities: number('copy-entities', values['copy-entities'], smoke ? 2_000 : 100_000),
          bigEntities: number('copy-big', values['copy-big'], smoke ? 10_000 : 1_000_000, 0) || null,
        },
    onlyCopy: values['only-copy'],
    statusLatency: values['skip-status-latency']
      ? null
      : {
          clients: number('status-clients', values['status-clients'], smoke ? 10 : 100),
          writes: number('status-writes', values['status-writes'], smoke ? 40 : 1_000),
          ratePerSecond: number('status-rate', values['status-rate'], smoke ? 20 : 50),
          idleSeconds: smoke ? 1 : 10,
        },
    onlyStatusLatency: values['only-status-latency'],
    migrate: values['skip-migrate']
      ? null
      : { apps: number('migrate-apps', values['migrate-apps'], smoke ? 50 : 1_000), latencyMs, concurrency },
    onlyMigrate: values['only-migrate'],
    outDir: values.out ?? defaultOutDir,
    daemonNodeArgs: values['daemon-node-options'].split(/\s+/).filter(Boolean),
  };
}

function createPaths(raw: string): CreatePath[] {
  const paths = [...new Set(raw.split(',').map((path) => path.trim()))];
  for (const path of paths)
    if (!(CREATE_PATHS as readonly string[]).includes(path))
      throw new Error(`--create-paths takes ${CREATE_PATHS.join(' and/or ')}, comma-separated (got "${raw}")`);
  return paths as CreatePath[];
}
