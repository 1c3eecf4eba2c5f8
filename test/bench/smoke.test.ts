/**
 * Keeps `npm run bench` working: the built benchmark, end to end at smoke size (N = 50, a
 * 500-task backlog, an account of 2,000 apps run twice per size, 10 subscribed browser sessions, 50 apps migrated), writing to a
 * temporary directory. No timing assertions.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import type { BenchResults } from '../../bench/results.js';

const MAIN = fileURLToPath(new URL('../../dist/bench/main.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

it('runs every phase and writes the table, results.json and the chart', async () => {
  const { code, stdout, stderr } = await run(['--smoke', '--account-repeats', '2', '--out', out]);
  expect(code, stderr).toBe(0);

  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchResults;
  expect(results.machine).toMatchObject({ cores: expect.any(Number), node: process.version });
  expect(results.parameters).toMatchObject({ tasks: 50, latencyMs: 100, concurrency: 16 });
  for (const subject of [results.throughput.daemon, results.throughput.inline]) {
    expect(subject).toMatchObject({ tasks: 50, ready: 50, failed: 0 });
    expect(subject.efficiency).toBeGreaterThan(0);
  }
  expect(results.throughput.daemon.daemon).toMatchObject({
    peakRssMb: expect.any(Number),
    cpuMsPerTask: expect.any(Number),
  });
  for (const subject of [results.timeToLink.daemon, results.timeToLink.inline]) {
    expect(subject.timeToLink.count).toBe(50);
    expect(subject.unseen).toBe(0);
    expect(subject.cdf.at(-1)![1]).toBe(1);
  }
  expect(results.backlog).toMatchObject({ tasks: 500, ready: 500, failed: 0 });
  expect(results.backlog!.heapAtEnd.heapUsedMb).toBeGreaterThan(0);
  expect(results.sandboxCapacity!.transactsPerSecond).toBeGreaterThan(0);
  // 10 (the --once batch on each create path), plus CPU, RSS and p99 for each path's non-empty account-size
  // run (2,000 apps), plus no listings for both chosen-id runs, plus the copy's two, the status-latency
  // phase's two and the migrate phase's one.
  expect(results.targets.map((target) => target.name)).toHaveLength(23);
  // Every status write reached its owner's session, and no other session heard of it.
  expect(results.statusLatency).toMatchObject({ clients: 10, writes: 40, missed: 0, strayRefreshes: 0 });
  expect(results.statusLatency!.latency.count).toBe(40);
  expect(results.statusLatency!.idle).toMatchObject({ sessions: 10, seconds: 1 });
  expect(results.statusLatency!.idle.sandboxCpuShare).toBeGreaterThanOrEqual(0);
  expect(results.copy!.throughput).toMatchObject({ entities: 2_000, target: 'app', verified: true });
  expect(results.copy!.memory).toMatchObject({ entities: 10_000, target: 'archive', verified: true });
  expect(results.parameters.accountSizes).toEqual([0, 2_000]);
  expect(results.accountSize).toMatchObject({ tasks: 30, ratePerSecond: 15, latencyMs: 50, pLost: 0.1, repeats: 2 });
  // Two runs per path and size; each figure is their median (the mean of the two).
  for (const run of results.accountSize!.runs) {
    expect(run.samples).toBe(2);
    const [a, b] = run.cpuMsPerTaskSamples;
    expect(run.cpuMsPerTask).toBeCloseTo((a! + b!) / 2, 1);
    expect(run.p99Samples).toHaveLength(2);
  }
  const runs = results.accountSize!.runs;
  expect(runs.map((run) => [run.createPath, run.seededApps])).toEqual([
    ['chosen-id', 0],
    ['chosen-id', 2_000],
    ['server-id', 0],
    ['server-id', 2_000],
  ]);
  for (const empty of [runs[0]!, runs[2]!])
    expect(empty).toMatchObject({ ready: 30, failed: 0, unseen: 0, ratio: { cpuPerTask: 1, p99: 1 } });
  for (const seeded of [runs[1]!, runs[3]!]) expect(seeded).toMatchObject({ ready: 30, failed: 0, unseen: 0 });
  // Chosen ids never look an app up by its title; with one create in ten answered lost, server ids must.
  expect(runs[0]!.platformListings + runs[1]!.platformListings).toBe(0);
  expect(runs[3]!.platformListings).toBeGreaterThan(0);
  for (const run of runs) {
    expect(run.cpuMsPerTask).toBeGreaterThan(0);
    expect(run.peakRssMb).toBeGreaterThan(0);
    expect(run.timeToLink.count).toBe(30);
    expect(run.sandboxCpuShare).toBeGreaterThanOrEqual(0);
  }
  expect(results.targets.map((target) => target.name)).toContain(
    'daemon peak RSS with 2,000 apps already provisioned (chosen-id)',
  );
  expect(results.onceBatch.map((batch) => [batch.createPath, batch.tasks, batch.ready])).toEqual([
    ['chosen-id', 50, 50],
    ['server-id', 50, 50],
  ]);
  for (const batch of results.onceBatch) expect(batch.cpuMsPerTask).toBeGreaterThan(0);
  expect(results.lostAnswers).toMatchObject({ tasks: 30, pLost: 0.1 });
  expect(results.lostAnswers.timeToLink.p50).toBeGreaterThanOrEqual(50);

  expect(stdout).toContain('| time-to-link p50 / p95 / p99 |');
  expect(stdout).toContain('**Backlog**');
  expect(stdout).toContain('**Account size**');
  expect(stdout).toContain('**Copy**');
  expect(stdout).toContain('**Status to browsers**');
  expect(stdout).toContain('**Migrate**');
  expect(results.migrate).toMatchObject({ apps: 50, moved: 50, concurrency: 16, latencyMs: 100 });
  expect(stdout).toContain('| apps already provisioned | 0 | 2,000 | 0 | 2,000 |');
  const svg = readFileSync(join(out, 'time-to-link.svg'), 'utf8');
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.match(/<polyline /g)).toHaveLength(2);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
}, 90_000);

it('runs the copy phase alone: an app copied, a big app backed up by the CLI, and their targets', async () => {
  const { code, stdout, stderr } = await run(['--only-copy', '--smoke', '--out', out]);
  expect(code, stderr).toBe(0);
  const { copy, targets } = JSON.parse(readFileSync(join(out, 'copy-results.json'), 'utf8')) as {
    copy: NonNullable<BenchResults['copy']>;
    targets: BenchResults['targets'];
  };
  expect(copy.throughput).toMatchObject({ entities: 2_000, target: 'app', verified: true });
  expect(copy.throughput.entitiesPerSecond).toBeGreaterThan(0);
  expect(copy.memory).toMatchObject({ entities: 10_000, target: 'archive', copyMs: null });
  expect(copy.memory!.peakRssMb).toBeGreaterThan(0);
  expect(copy.memory!.sizeBytes).toBeGreaterThan(0);
  expect(targets.map((target) => target.target)).toEqual(['≥ 20,000 entities/s', '≤ 150 MB']);
  expect(stdout).toContain('| peak RSS of the copying process |');
}, 90_000);

it('runs the migrate phase alone: apps moved between a Cloud sandbox and a self-hosted one, against as many creates', async () => {
  const { code, stdout, stderr } = await run(['--only-migrate', '--smoke', '--out', out]);
  expect(code, stderr).toBe(0);
  const { migrate, targets } = JSON.parse(readFileSync(join(out, 'migrate-results.json'), 'utf8')) as {
    migrate: NonNullable<BenchResults['migrate']>;
    targets: BenchResults['targets'];
  };
  expect(migrate).toMatchObject({ apps: 50, moved: 50, entitiesPerApp: 6, concurrency: 16, latencyMs: 100 });
  expect(migrate.createsWallMs).toBeGreaterThan(0);
  expect(migrate.migrateWallMs).toBeGreaterThan(0);
  expect(targets.map((target) => target.target)).toEqual(['≤ 1.5×']);
  expect(stdout).toContain('| wall time |');
}, 90_000);

it('refuses a bad flag with exit 2 and the usage', async () => {
  const { code, stderr } = await run(['--n', 'many']);
  expect(code).toBe(2);
  expect(stderr).toContain('--n must be a whole number');
  expect(stderr).toContain('usage: npm run bench');
});
