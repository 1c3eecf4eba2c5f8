/**
 * `migrate`'s phase (issue 19's target): N small task apps moved from a source sandbox started as
 * Instant Cloud is today (`sandbox --cloud`) to a self-hosted one, by the built CLI at
 * `--concurrency C`, against the time the same number of creates take through the daemon
 * (`reconcile --once --concurrency C`) on the same target, with the same create latency L on both
 * sandboxes for both runs. Both are whole CLI runs, start to exit.
 *
 * Setup (not timed, L = 0): N tasks provisioned on the source by `reconcile --once`, each app given
 * a few entities with links (3 people, 3 notes each linked to a person) through its admin API.
 */
import { execFile } from 'node:child_process';
import { id } from '@instantdb/admin';
import { join } from 'node:path';
import { cliPath, spawnSandbox, type SandboxProcess } from './processes.js';
import { childrenCpuMs } from './once-batch.js';
import { round2 } from './stats.js';
import { connect, createTaskBatches, now } from './workload.js';

export interface MigrateBenchSettings {
  apps: number;
  latencyMs: number;
  concurrency: number;
  workDir: string;
}

export interface MigrateBenchResult {
  apps: number;
  latencyMs: number;
  concurrency: number;
  /** `reconcile --once` of N tasks on the target: N creates, start to exit. */
  createsWallMs: number;
  /** `migrate` of N apps, start to exit. */
  migrateWallMs: number;
  /** migrate ÷ creates. */
  ratio: number;
  /** N·L/C: the shortest time N creates can take. */
  idealMs: number;
  migrateCpuMs: number;
  entitiesPerApp: number;
  moved: number;
}

const PEOPLE = 3;
const NOTES = 3;

export async function measureMigrate(
  settings: MigrateBenchSettings,
  progress: (line: string) => void,
): Promise<MigrateBenchResult> {
  const source = await spawnSandbox(['--cloud', '--create-latency', 'fixed:0']);
  const target = await spawnSandbox(['--seed', '2', '--create-latency', 'fixed:0']);
  try {
    progress(`  setup: ${settings.apps} task apps on the source (L = 0), ${PEOPLE + NOTES} entities each`);
    await createTaskBatches(connect(source.env), settings.apps, 250);
    await runCli(['reconcile', '--once', '--concurrency', '64'], source, join(settings.workDir, 'migrate-setup.log'));
    await fillApps(source, settings.apps);
    await createTaskBatches(connect(target.env), settings.apps, 250);

    const latency = { createLatency: { kind: 'fixed', ms: settings.latencyMs } };
    await source.setFaults(latency);
    await target.setFaults(latency);
    const c = String(settings.concurrency);
    progress(
      `  ${settings.apps} creates: reconcile --once --concurrency ${c} on the target, L = ${settings.latencyMs} ms`,
    );
    const creates = await runCli(
      ['reconcile', '--once', '--concurrency', c],
      target,
      join(settings.workDir, 'migrate-creates.log'),
    );
    progress(`  ${settings.apps} apps: migrate --concurrency ${c}, L = ${settings.latencyMs} ms on both`);
    const args = [
      '--target-api-uri',
      target.env.INSTANT_API_URI,
      '--target-platform-token',
      target.env.INSTANT_PLATFORM_TOKEN,
    ];
    const migrate = await runCli(
      ['migrate', ...args, '--concurrency', c],
      source,
      join(settings.workDir, 'migrate.log'),
    );
    const moved = Number(/migrate: (\d+) moved/.exec(migrate.stdout)?.[1] ?? NaN);
    if (moved !== settings.apps)
      throw new Error(`migrate moved ${moved} of ${settings.apps} apps: ${migrate.stdout.slice(0, 500)}`);
    return {
      apps: settings.apps,
      latencyMs: settings.latencyMs,
      concurrency: settings.concurrency,
      createsWallMs: Math.round(creates.wallMs),
      migrateWallMs: Math.round(migrate.wallMs),
      ratio: round2(migrate.wallMs / creates.wallMs),
      idealMs: Math.round((settings.apps * settings.latencyMs) / settings.concurrency),
      migrateCpuMs: Math.round(migrate.cpuMs),
      entitiesPerApp: PEOPLE + NOTES,
      moved,
    };
  } finally {
    await Promise.all([source.stop(), target.stop()]);
  }
}

/** Gives every task app on the source its entities, through its own admin API, 32 apps at a time. */
async function fillApps(sandbox: SandboxProcess, expected: number): Promise<void> {
  const db = connect(sandbox.env);
  const { databases } = await db.query({ databases: { $: { fields: ['instantAppId', 'adminToken', 'status'] } } });
  const apps = databases.filter((record) => record.status === 'ready' && record.instantAppId && record.adminToken);
  if (apps.length !== expected) throw new Error(`setup: ${apps.length} of ${expected} task apps are ready`);
  let next = 0;
  const worker = async () => {
    while (next < apps.length) {
      const record = apps[next++]!;
      const people = Array.from({ length: PEOPLE }, () => id());
      const notes = Array.from({ length: NOTES }, () => id());
      const steps = [
        ...people.map((person, n) => ['update', 'people', person, { name: `p${n}` }]),
        ...notes.map((note, n) => ['update', 'notes', note, { text: `note ${n}` }]),
        ...notes.map((note, n) => ['link', 'notes', note, { people: people[n % PEOPLE] }]),
      ];
      const response = await fetch(`${sandbox.env.INSTANT_API_URI}/admin/transact`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'app-id': record.instantAppId!,
          authorization: `Bearer ${record.adminToken}`,
        },
        body: JSON.stringify({ steps, 'throw-on-missing-attrs?': false }),
      });
      if (!response.ok) throw new Error(`setup: filling app ${record.instantAppId}: HTTP ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/** Runs the built CLI against `sandbox`'s main app; wall time (spawn → exit) and the process's CPU (bash `times`). */
async function runCli(
  args: string[],
  sandbox: SandboxProcess,
  log: string,
): Promise<{ wallMs: number; cpuMs: number; stdout: string }> {
  const startedAt = now();
  const script = `"$0" "$1" "\${@:2}" 2> "${log}"; code=$?; times; exit $code`;
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      'bash',
      ['-c', script, process.execPath, cliPath(), ...args],
      {
        env: { PATH: process.env.PATH ?? '', ...sandbox.env, LOG_FORMAT: 'json' },
        timeout: 30 * 60_000,
        maxBuffer: 64 << 20,
      },
      (error, out) => (error ? reject(new Error(`${args[0]} failed (${error.message}); see ${log}`)) : resolve(out)),
    ),
  );
  const wallMs = now() - startedAt;
  return { wallMs, cpuMs: childrenCpuMs(stdout), stdout };
}
