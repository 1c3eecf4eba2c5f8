/**
 * Issue 20's targets: how fast a status change reaches a subscribed browser, and what idle browser
 * sessions cost the sandbox.
 *
 * A sandbox in its own process holds the main app with the shipped schema and rules; N users
 * (100), each signed in on a session of their own (the raw client protocol, bench/protocol-client.ts),
 * subscribe to their task and its database with the query `useTaskDatabase` sends. First the
 * sessions sit idle and the sandbox's CPU is read from /proc; then the driver makes the daemon's
 * status writes (admin transacts through the Admin SDK, as the daemon makes them: the record with
 * its next generation and that generation's fence), at a steady rate, on one user's record at a
 * time, and measures each from just before the transact is sent to the moment the owner's session
 * receives the `refresh-ok` carrying the new status.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { id, init } from '@instantdb/admin';
import schema from '../instant.schema.js';
import { ProtocolSession, tripleValue } from './protocol-client.js';
import { spawnSandbox } from './processes.js';
import { readProc } from './proc-stats.js';
import { percentiles, type Percentiles } from './stats.js';

export interface StatusLatencySettings {
  /** Subscribed sessions, one user each. */
  clients: number;
  /** Status writes made. */
  writes: number;
  /** Status writes per second (open loop: a write does not wait for the previous one). */
  ratePerSecond: number;
  /** How long the sessions sit idle while the sandbox's CPU is read. */
  idleSeconds: number;
}

export interface StatusLatencyResult {
  clients: number;
  writes: number;
  ratePerSecond: number;
  /** The daemon's write sent → the owner's session receives the refresh-ok with the new status (ms). */
  latency: Percentiles;
  /** The daemon's write sent → its transact answered (ms). */
  acknowledged: Percentiles;
  /** Writes whose refresh-ok never came (within 5 s of the last write). */
  missed: number;
  /** refresh-oks that reached a session whose status had not changed (another user's write). */
  strayRefreshes: number;
  /** The sandbox's CPU while the writes ran, as a share of one core. */
  sandboxCpuShareDuringWrites: number;
  /** The sandbox's CPU with every session open and nothing written, as a share of one core. */
  idle: { sessions: number; seconds: number; sandboxCpuShare: number };
}

interface Subscriber {
  session: ProtocolSession;
  record: string;
  generation: number;
  pending: { status: string; sentAt: number } | null;
}

export async function measureStatusLatency(
  settings: StatusLatencySettings,
  progress: (line: string) => void,
): Promise<StatusLatencyResult> {
  const sandbox = await spawnSandbox();
  const subscribers: Subscriber[] = [];
  try {
    const { INSTANT_API_URI: apiURI, INSTANT_APP_ID: appId, INSTANT_ADMIN_TOKEN: adminToken } = sandbox.env;
    const admin = init({ appId, adminToken, apiURI, schema });
    const websocketURI = `${apiURI.replace(/^http/, 'ws')}/runtime/session`;

    // The users, their tasks and the daemon's claims (provisioning records linked to the tasks).
    const emails = Array.from({ length: settings.clients }, (_, i) => `user-${i}@bench.example`);
    const tokens = await Promise.all(emails.map((email) => admin.auth.createToken(email)));
    const { $users } = await admin.query({ $users: { $: { where: { email: { $in: emails } } } } });
    const userOf = new Map($users.map((user) => [user.email, user.id]));
    const tasks = emails.map(() => id());
    const records = emails.map(() => id());
    await admin.transact(
      emails.flatMap((email, i) => [
        admin.tx.tasks[tasks[i]!]!.update({ title: `task ${i}`, createdAt: Date.now() }).link({
          owner: userOf.get(email)!,
        }),
        admin.tx.databases[records[i]!]!.update({
          taskId: tasks[i]!,
          name: `bench-database-${i}`,
          status: 'provisioning',
          createdAt: Date.now(),
          leaseOwner: 'bench',
          generation: 1,
        }),
        admin.tx.tasks[tasks[i]!]!.link({ mainDatabase: records[i]! }),
      ]),
    );

    // One signed-in session per user, subscribed to what useTaskDatabase asks for.
    let statusAttr = '';
    let strayRefreshes = 0;
    const samples: number[] = [];
    for (let i = 0; i < settings.clients; i++) {
      const { session, attrs } = await ProtocolSession.open(websocketURI, appId, tokens[i]!);
      statusAttr ||= attrs.find(
        (a) => a['forward-identity'][1] === 'databases' && a['forward-identity'][2] === 'status',
      )!.id;
      const first = await session.addQuery({ tasks: { $: { where: { id: tasks[i] } }, mainDatabase: {} } });
      if (tripleValue(first, records[i]!, statusAttr) !== 'provisioning')
        throw new Error(`session ${i} does not see its own database: the benchmark would measure nothing`);
      const subscriber: Subscriber = { session, record: records[i]!, generation: 1, pending: null };
      session.onRefresh = (message, at) => {
        const status = tripleValue(message['computations'], subscriber.record, statusAttr);
        if (!subscriber.pending || status !== subscriber.pending.status) return void strayRefreshes++;
        samples.push(at - subscriber.pending.sentAt);
        subscriber.pending = null;
      };
      subscribers.push(subscriber);
    }

    progress(`  ${settings.clients} sessions subscribed; idle for ${settings.idleSeconds} s`);
    await sleep(1_000);
    const idleFrom = readProc(sandbox.pid)!;
    const idleStart = performance.now();
    await sleep(settings.idleSeconds * 1_000);
    const idleShare = (readProc(sandbox.pid)!.cpuMs - idleFrom.cpuMs) / (performance.now() - idleStart);

    progress(`  ${settings.writes} status writes at ${settings.ratePerSecond}/s`);
    let missed = 0;
    const acks: number[] = [];
    const writes: Promise<void>[] = [];
    const cpuFrom = readProc(sandbox.pid)!;
    const start = performance.now();
    for (let k = 0; k < settings.writes; k++) {
      const due = start + (k * 1_000) / settings.ratePerSecond;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const subscriber = subscribers[k % subscribers.length]!;
      if (subscriber.pending) missed++;
      const generation = ++subscriber.generation;
      // Alternate, so that every write changes what the owner sees.
      const ready = generation % 2 === 0;
      const status = ready ? 'ready' : 'provisioning';
      const sentAt = performance.now();
      subscriber.pending = { status, sentAt };
      writes.push(
        admin
          .transact([
            admin.tx.databases[subscriber.record]!.update({
              status,
              generation,
              ...(ready ? { instantAppId: id(), readyAt: Date.now() } : {}),
            }),
            admin.tx.databaseFences[id()]!.update({
              key: `${subscriber.record}/${generation}`,
              owner: 'bench',
              createdAt: Date.now(),
            }),
          ])
          .then(() => void acks.push(performance.now() - sentAt)),
      );
    }
    await Promise.all(writes);
    const settleBy = performance.now() + 5_000;
    while (subscribers.some((s) => s.pending) && performance.now() < settleBy) await sleep(20);
    const writeMs = performance.now() - start;
    const cpuShare = (readProc(sandbox.pid)!.cpuMs - cpuFrom.cpuMs) / writeMs;
    missed += subscribers.filter((s) => s.pending).length;

    return {
      clients: settings.clients,
      writes: settings.writes,
      ratePerSecond: settings.ratePerSecond,
      latency: percentiles(samples),
      acknowledged: percentiles(acks),
      missed,
      strayRefreshes,
      sandboxCpuShareDuringWrites: round3(cpuShare),
      idle: { sessions: settings.clients, seconds: settings.idleSeconds, sandboxCpuShare: round3(idleShare) },
    };
  } finally {
    for (const subscriber of subscribers) subscriber.session.close();
    await sandbox.stop();
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
