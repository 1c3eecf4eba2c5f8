/** The daemon's SIGUSR2 memory report, through the built CLI. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import { CLI, world, type World } from './helpers.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

it('a running daemon logs its memory on SIGUSR2 and keeps running', async () => {
  const w = (current = await world());
  const child = spawn(process.execPath, ['--expose-gc', CLI, 'reconcile'], {
    env: { PATH: process.env.PATH ?? '', ...w.env, LOG_FORMAT: 'json' },
  });
  const entries: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    entries.push(JSON.parse(line) as Record<string, unknown>);
    for (const wake of waiters.splice(0)) wake();
  });
  let exitedEarly: string | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      exitedEarly = `the daemon exited (code ${code}, signal ${signal})`;
      for (const wake of waiters.splice(0)) wake();
      resolve(code);
    }),
  );
  // Fails at once, rather than at the test timeout, if the daemon dies first.
  const waitFor = async (message: string) => {
    while (!entries.some((entry) => entry.msg === message)) {
      if (exitedEarly) throw new Error(`${exitedEarly} before logging '${message}'`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
    return entries.find((entry) => entry.msg === message)!;
  };

  await waitFor('reconciling');
  child.kill('SIGUSR2');
  const report = await waitFor('memory usage');
  expect(report).toMatchObject({ level: 30, afterGc: true });
  for (const key of ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'])
    expect(report[key]).toBeTypeOf('number');

  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(entries.map((entry) => entry.msg)).toContain('stopped');
});
