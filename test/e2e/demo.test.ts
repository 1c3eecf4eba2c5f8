/** `npm start` with no credentials: the whole system on the sandbox. */
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { CLI, runCli } from './helpers.js';

it('starts the sandbox, the daemon, the operator page and demo tasks; tasks get databases; Ctrl-C exits 130', async () => {
  // The flag wins over the environment, in demo mode as in `reconcile`.
  const child = spawn(
    process.execPath,
    [CLI, 'start', '--port', '0', '--page-port', '0', '--task-every', '300', '--log-format', 'json'],
    { env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'pretty' } },
  );
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const readyLines = () => stdout.split('\n').filter((line) => line.includes('got its database'));
  const deadline = Date.now() + 30_000;
  while (readyLines().length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));

  // The operator page: its bundle, and its settings with the demo users' tokens, never an admin or platform token.
  const pageUrl = /operator page\s+(http:\/\/\S+\/)/.exec(stdout)?.[1];
  expect(pageUrl, stdout).toBeDefined();
  const config = (await (await fetch(`${pageUrl}config.json`)).json()) as {
    appId: string;
    users: Array<{ email: string; token: string }>;
  };
  expect(config.users.map((user) => user.email)).toEqual(['ada@example.com', 'grace@example.com']);
  expect(config.users.every((user) => /^[0-9a-f-]{36}$/.test(user.token))).toBe(true);
  const adminToken = /INSTANT_ADMIN_TOKEN=(\S+)/.exec(stdout)![1]!;
  const platformToken = /INSTANT_PLATFORM_TOKEN=(\S+)/.exec(stdout)![1]!;
  const configText = JSON.stringify(config);
  expect(configText).not.toContain(adminToken);
  expect(configText).not.toContain(platformToken);
  const bundle = await fetch(`${pageUrl}operator-page.js`);
  expect(bundle.status).toBe(200);
  expect((await bundle.text()).length).toBeGreaterThan(10_000);
  expect((await fetch(pageUrl!)).headers.get('content-security-policy')).toContain("frame-ancestors 'none'");

  child.kill('SIGINT');
  const code = await new Promise((resolve) => child.on('exit', resolve));

  expect(readyLines().length).toBeGreaterThanOrEqual(3);
  expect(JSON.parse(readyLines()[0]!)).toMatchObject({ appId: expect.any(String), durationMs: expect.any(Number) });
  expect(readyLines()[0]).toMatch(/"Demo task \d+\\" got its database [a-z]+-[a-z]+-[a-z]+, and it answers queries/);
  expect(stdout).toContain('sandbox API');
  expect(stdout).toContain('/__sandbox/apps');
  expect(code).toBe(130);
});

it('refuses a bad --page-port with exit 2, naming it', async () => {
  const { code, stderr } = await runCli(['start', '--port', '0', '--page-port', 'eighty'], {});
  expect(code).toBe(2);
  expect(stderr).toContain('--page-port must be a port number (got "eighty")');
});

it('names --page-port when its port is taken (exit 2)', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as AddressInfo;
  try {
    const { code, stderr } = await runCli(['start', '--port', '0', '--page-port', String(port)], {});
    expect(code).toBe(2);
    expect(stderr).toContain(`--page-port ${port} is in use`);
  } finally {
    taken.close();
  }
});
