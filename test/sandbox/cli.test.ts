import { init } from '@instantdb/admin';
import { PlatformApi } from '@instantdb/platform';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { parseFlags, sandboxCommand } from '../../src/cli/sandbox.js';
import { schema } from './helpers.js';

/** Records what the command writes to a stream while `run` is in flight. */
function capture(stream: NodeJS.WriteStream) {
  const chunks: string[] = [];
  const spy = vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  return { text: () => chunks.join(''), restore: () => spy.mockRestore() };
}

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('flags', () => {
  test.each([
    [['--p-500', 'abc'], '--p-500 must be a probability between 0 and 1 (got "abc")'],
    [['--p-transact-fail', '1.5'], '--p-transact-fail must be a probability between 0 and 1 (got "1.5")'],
    [['--port', 'x'], '--port must be a port number (got "x")'],
    [['--seed', '-1'], '--seed must be a whole number ≥ 0 (got "-1")'],
    [['--retry-after', '1.5'], '--retry-after must be a whole number ≥ 0 (got "1.5")'],
    [['--sse-drop-every', 'soon'], '--sse-drop-every must be a whole number ≥ 0 (got "soon")'],
    [
      ['--create-latency', 'uniform:5'],
      '--create-latency: expected ms, fixed:MS, uniform:MIN:MAX or normal:MEAN:SD, got "uniform:5"',
    ],
    [['--platform-token', 'secret'], '--platform-token must be per_ followed by 64 hex digits'],
  ])('%j is one line naming the flag, exit code 2', async (argv, message) => {
    const stderr = capture(process.stderr);
    await sandboxCommand().parseAsync(argv, { from: 'user' });
    stderr.restore();
    expect(process.exitCode).toBe(2);
    expect(stderr.text()).toBe(`instant-provisioner: ${message}\n`);
  });

  test('fault flags map onto FaultConfig keys', () => {
    const parsed = parseFlags({
      port: '0',
      host: '127.0.0.1',
      title: 'main',
      seed: '3',
      createLatency: 'normal:100:20',
      p500: '0.1',
      p429: '0.2',
      p429Hint: '0.3',
      retryAfter: '4',
      pHang: '0.05',
      pLost: '0.06',
      pMalformed: '0.07',
      pMissingToken: '0.08',
      windDown: true,
      cloud: true,
      pTransactFail: '0.01',
      sseDropEvery: '3000',
    });
    expect(parsed).toEqual({
      port: 0,
      host: '127.0.0.1',
      seed: 3,
      cloud: true,
      faults: {
        createLatency: { kind: 'normal', mean: 100, sd: 20 },
        p500: 0.1,
        p429: 0.2,
        p429Hint: 0.3,
        retryAfter: 4,
        pHang: 0.05,
        pLost: 0.06,
        pMalformed: 0.07,
        pMissingToken: 0.08,
        windDown: true,
        pTransactFail: 0.01,
        sseDropEvery: 3000,
      },
    });
  });

  test('--help documents every flag', () => {
    const help = sandboxCommand().helpInformation();
    const flags = [
      '--port',
      '--host',
      '--seed',
      '--platform-token',
      '--title',
      '--create-latency',
      '--p-500',
      '--p-429 ',
      '--p-429-hint',
      '--retry-after',
      '--p-hang',
      '--p-lost',
      '--p-malformed',
      '--p-missing-token',
      '--wind-down',
      '--p-transact-fail',
      '--sse-drop-every',
    ];
    for (const flag of flags) expect(help).toContain(flag);
  });
});

test('runs a sandbox with a main app, prints the env, and stops on SIGINT with 130', async () => {
  const listeners = process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
  const stdout = capture(process.stdout);
  const stderr = capture(process.stderr);
  const run = sandboxCommand().parseAsync(['--port', '0', '--seed', '9', '--p-429', '0.5'], { from: 'user' });
  await vi.waitFor(() => expect(stdout.text()).toContain('INSTANT_PLATFORM_TOKEN'));
  const env = Object.fromEntries(
    stdout
      .text()
      .trim()
      .split('\n')
      .map((line) => line.replace(/^export /, '').split('=') as [string, string]),
  );
  expect(Object.keys(env)).toEqual([
    'INSTANT_API_URI',
    'INSTANT_APP_ID',
    'INSTANT_ADMIN_TOKEN',
    'INSTANT_PLATFORM_TOKEN',
  ]);
  const db = init({
    appId: env['INSTANT_APP_ID']!,
    adminToken: env['INSTANT_ADMIN_TOKEN']!,
    apiURI: env['INSTANT_API_URI']!,
    schema,
  });
  expect(await db.query({ databases: {} })).toEqual({ databases: [] });
  const api = new PlatformApi({ auth: { token: env['INSTANT_PLATFORM_TOKEN']! }, apiURI: env['INSTANT_API_URI']! });
  expect((await api.getApps()).apps.map((a) => a.title)).toEqual(['instant-provisioner-main']);
  expect(stderr.text()).toContain('"p429":0.5');
  expect(stderr.text()).toContain(`websocketURI: '${env['INSTANT_API_URI']!.replace('http', 'ws')}/runtime/session'`);

  // With its name, as node calls a listener of a real signal.
  process.emit('SIGINT', 'SIGINT');
  await run;
  stdout.restore();
  stderr.restore();
  expect(process.exitCode).toBe(130);
  process.exitCode = undefined;
  expect(process.listenerCount('SIGINT') + process.listenerCount('SIGTERM')).toBe(listeners);
  await expect(fetch(`${env['INSTANT_API_URI']}/superadmin/apps`)).rejects.toThrow();
});
