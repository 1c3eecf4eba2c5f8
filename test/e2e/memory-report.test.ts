/** The daemon's SIGUSR2 memory report, through the built CLI. */
import { afterEach, expect, it } from 'vitest';
import { spawnDaemon, world, type World } from './helpers.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

it('a running daemon logs its memory on SIGUSR2 and keeps running', async () => {
  const w = (current = await world());
  const daemon = spawnDaemon(['reconcile'], w.env, ['--expose-gc']);
  await daemon.waitFor('reconciling');
  daemon.signal('SIGUSR2');
  const report = await daemon.waitFor('memory usage');
  expect(report).toMatchObject({ level: 30, afterGc: true });
  for (const key of ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'])
    expect(report[key]).toBeTypeOf('number');

  expect(await daemon.stop()).toBe(0);
  expect(daemon.entries.map((entry) => entry.msg)).toContain('stopped');
});
