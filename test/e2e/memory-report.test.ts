/** The daemon's SIGUSR2 memory report and its heap budget, through the built CLI. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { spawnDaemon as spawn, world, type RunningDaemon, type World } from './helpers.js';

let current: World | undefined;
let daemons: RunningDaemon[] = [];
afterEach(async () => {
  // A failed assertion must not leave its daemon running.
  await Promise.all(daemons.map((daemon) => daemon.stop()));
  daemons = [];
  await current?.close();
  current = undefined;
});

const spawnDaemon = (...args: Parameters<typeof spawn>) => {
  const daemon = spawn(...args);
  daemons.push(daemon);
  return daemon;
};

const MB = 2 ** 20;

it('a running daemon logs its memory on SIGUSR2 and keeps running', async () => {
  const w = (current = await world());
  const daemon = spawnDaemon(['reconcile'], w.env, ['--expose-gc']);
  await daemon.waitFor('reconciling');
  daemon.signal('SIGUSR2');
  const report = await daemon.waitFor('memory usage');
  expect(report).toMatchObject({ level: 30, afterGc: true });
  for (const key of ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers', 'heapSizeLimit'])
    expect(report[key]).toBeTypeOf('number');

  expect(await daemon.stop()).toBe(0);
  expect(daemon.entries.map((entry) => entry.msg)).toContain('stopped');
});

it.each([
  // Old generation 96 MB + young 8 MB, plus V8's own reserve: far below node's default (≥ 2 GB on 64-bit).
  ['without node flags, the default budget', {}, 90 * MB, 140 * MB],
  ['PROVISIONER_MAX_HEAP_MB=200', { PROVISIONER_MAX_HEAP_MB: '200' }, 200 * MB, 250 * MB],
  ['PROVISIONER_MAX_HEAP_MB=0, no budget: node decides', { PROVISIONER_MAX_HEAP_MB: '0' }, 500 * MB, Infinity],
] as const)('reconcile runs under a heap budget: %s', async (_name, env, atLeast, below) => {
  const w = (current = await world());
  const daemon = spawnDaemon(['reconcile'], { ...w.env, ...env });
  await daemon.waitFor('reconciling');
  daemon.signal('SIGUSR2');
  const { heapSizeLimit } = await daemon.waitFor('memory usage');
  expect(heapSizeLimit as number).toBeGreaterThanOrEqual(atLeast);
  expect(heapSizeLimit as number).toBeLessThan(below);
  expect(await daemon.stop()).toBe(0);
});

it('start with credentials runs reconcile under the budget too', async () => {
  const w = (current = await world());
  const daemon = spawnDaemon(['start'], w.env);
  await daemon.waitFor('reconciling');
  daemon.signal('SIGUSR2');
  const { heapSizeLimit } = await daemon.waitFor('memory usage');
  expect(heapSizeLimit as number).toBeLessThan(140 * MB);
  expect(await daemon.stop()).toBe(0);
});

it('a budget set only in .env is the one used', async () => {
  const w = (current = await world());
  const cwd = await mkdtemp(join(tmpdir(), 'heap-env-'));
  await writeFile(join(cwd, '.env'), 'PROVISIONER_MAX_HEAP_MB=0\n');
  const daemon = spawnDaemon(['reconcile'], w.env, [], { cwd });
  await daemon.waitFor('reconciling');
  daemon.signal('SIGUSR2');
  const { heapSizeLimit } = await daemon.waitFor('memory usage');
  expect(heapSizeLimit as number).toBeGreaterThanOrEqual(500 * MB);
  expect(await daemon.stop()).toBe(0);
});

it('a bad PROVISIONER_MAX_HEAP_MB is a configuration error (exit 2) naming the variable', async () => {
  const w = (current = await world());
  const daemon = spawnDaemon(['reconcile'], { ...w.env, PROVISIONER_MAX_HEAP_MB: 'lots' });
  expect(await daemon.exited).toBe(2);
  expect(daemon.stderr()).toContain('PROVISIONER_MAX_HEAP_MB must be a whole number of MB');
});
