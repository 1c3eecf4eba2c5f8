/** `npm start` with no credentials: the whole system on the sandbox. */
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { CLI } from './helpers.js';

it('starts the sandbox, the daemon and demo tasks; tasks get databases; Ctrl-C exits 130', async () => {
  // The flag wins over the environment, in demo mode as in `reconcile`.
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--task-every', '300', '--log-format', 'json'], {
    env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'pretty' },
  });
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const readyLines = () => stdout.split('\n').filter((line) => line.includes('got its database'));
  const deadline = Date.now() + 30_000;
  while (readyLines().length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  child.kill('SIGINT');
  const code = await new Promise((resolve) => child.on('exit', resolve));

  expect(readyLines().length).toBeGreaterThanOrEqual(3);
  expect(JSON.parse(readyLines()[0]!)).toMatchObject({ appId: expect.any(String), durationMs: expect.any(Number) });
  expect(readyLines()[0]).toMatch(/"Demo task \d+\\" got its database [a-z]+-[a-z]+-[a-z]+, and it answers queries/);
  expect(stdout).toContain('sandbox API');
  expect(stdout).toContain('/__sandbox/apps');
  expect(code).toBe(130);
});
