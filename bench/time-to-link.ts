/**
 * Time-to-link: tasks arrive one by one at a steady rate below capacity (so nothing queues for
 * a create slot), and for each we measure from the server acknowledging the task to the moment
 * a subscriber sees it linked to a ready record.
 */
import { InlineProvisioner } from './baseline.js';
import { startDaemon, startSandbox } from './setup.js';
import { percentiles, round1, type Percentiles } from './stats.js';
import { connect, createTasksSteadily, LinkObserver, sleep, waitUntilAllLinked } from './workload.js';

export interface TimeToLinkSettings {
  tasks: number;
  /** Arrivals per second. */
  rate: number;
  latencyMs: number;
  concurrency: number;
  window: number;
  workDir: string;
  /** Extra node flags for the daemon. */
  nodeArgs: string[];
  /** Sandbox fault flags, e.g. `--p-lost 0.1`. */
  faultArgs?: string[];
}

export interface TimeToLinkResult {
  tasks: number;
  ratePerSecond: number;
  /** Task acknowledged → seen linked to a ready record (ms). */
  timeToLink: Percentiles;
  /** Links the observer's window missed (should be 0). */
  unseen: number;
  /** Every sample (ms, 0.1 ms resolution), for the chart. */
  samples: number[];
}

export async function measureTimeToLink(
  subject: 'daemon' | 'inline',
  settings: TimeToLinkSettings,
): Promise<TimeToLinkResult> {
  const sandbox = await startSandbox(settings.latencyMs, settings.faultArgs);
  const db = connect(sandbox.env);
  const daemon =
    subject === 'daemon'
      ? await startDaemon(sandbox, { ...settings, name: `time-to-link-${settings.tasks}` })
      : undefined;
  const inline = subject === 'inline' ? new InlineProvisioner(db, sandbox.env, settings.concurrency) : undefined;
  const observer = new LinkObserver(db);
  try {
    await observer.started();
    const created = new Map<string, number>();
    await createTasksSteadily(db, settings.tasks, settings.rate, (taskId, ackedAt) => {
      created.set(taskId, ackedAt);
      inline?.provision(taskId);
    });
    await inline?.drained();
    await waitUntilAllLinked(db, 20, 10 * 60_000);
    await sleep(250); // the last refreshes
    const samples: number[] = [];
    for (const [taskId, ackedAt] of created) {
      const seenAt = observer.seen.get(taskId);
      if (seenAt !== undefined) samples.push(round1(seenAt - ackedAt));
    }
    return {
      tasks: settings.tasks,
      ratePerSecond: settings.rate,
      timeToLink: percentiles(samples),
      unseen: created.size - samples.length,
      samples,
    };
  } finally {
    observer.close();
    await daemon?.stop();
    await sandbox.stop();
  }
}
