/** The built CLI as users and deploy platforms run it. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { program } from '../../src/cli/program.js';
import { SETTINGS } from '../../src/config.js';
import { audit, createTasks, runCli, world, type World } from './helpers.js';

const allCommands = (command: Command): Command[] => command.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
/** `template push` for the push command under template. */
const commandPath = (command: Command): string =>
  command.parent && command.parent !== program ? `${commandPath(command.parent)} ${command.name()}` : command.name();

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe('instant-provisioner reconcile --once', () => {
  it('links 1,000 tasks created as a browser would to exactly one ready database each', async () => {
    const w = (current = await world());
    await createTasks(w.db, 1_000);
    const result = await runCli(
      ['reconcile', '--once', '--concurrency', '16'],
      { ...w.env, LOG_LEVEL: 'warn' },
      { timeoutMs: 120_000 },
    );

    // stderr carries nothing but progress lines, the last one complete.
    const progress = result.stderr.trim().split('\n');
    for (const line of progress) expect(line).toMatch(/^reconcile --once: \d+\/\d+\+? \(\d+%\), [\d.]+\/s/);
    expect(progress.at(-1)).toMatch(/^reconcile --once: 1000\/1000 \(100%\)/);
    expect(result.stdout.trim().split('\n').at(-1)).toMatch(
      /^reconcile --once: 1000 ready, 0 failed, 0 skipped, 0 orphan apps deleted in \d+\.\d s$/,
    );
    expect(result.code).toBe(0);
    expect(await audit(w)).toMatchObject({ tasks: 1_000, records: 1_000, apps: 1_000, live: 1_000, problems: [] });
  });

  it('exits 1 when a task failed, with the failure visible on its record', async () => {
    const w = (current = await world());
    await createTasks(w.db, 3);
    // Every create answers 500: each record fails after --max-attempts, leaving no app behind.
    w.sandbox.faults.set({ p500: 1 });
    const result = await runCli(
      ['reconcile', '--once', '--max-attempts', '2', '--backoff-base', '10', '--backoff-max', '20'],
      w.env,
    );

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/reconcile --once: 0 ready, 3 failed/);
    const { databases } = await w.db.query({ databases: {} });
    expect(databases.map((record) => [record.status, record.attempts])).toEqual([
      ['failed', 2],
      ['failed', 2],
      ['failed', 2],
    ]);
    expect(databases[0]!.error).toMatch(/HTTP 500/);
    expect(w.sandbox.apps().filter((app) => app.deletedAt === null)).toHaveLength(1); // the main app only
  });

  it('exits 3 with one clear line when the server stopped creating apps', async () => {
    const w = (current = await world({ faults: { windDown: true } }));
    await createTasks(w.db, 2);
    const result = await runCli(['reconcile', '--once'], w.env);

    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/reconcile --once stopped early \(.*app-creation-disabled.*\)/);
    const errors = result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        try {
          return JSON.parse(line);
        } catch {
          return null;
        }
      })
      .filter((entry) => entry?.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0].msg).toContain('point INSTANT_API_URI at your own Instant server');
    const { databases } = await w.db.query({ databases: {} });
    // Claimed, never created, never failed: both wait for a server that creates apps again.
    expect(databases.map((record) => record.status)).toEqual(['provisioning', 'provisioning']);
  });
});

describe('bad input', () => {
  it('a missing variable names it and exits 2', async () => {
    const result = await runCli(['reconcile'], {});
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      'instant-provisioner: INSTANT_APP_ID is not set (also accepted: NEXT_PUBLIC_INSTANT_APP_ID); set it in the environment, in .env, or with --app-id',
    );
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('a malformed flag names it and exits 2', async () => {
    for (const value of ['abc', '0']) {
      const result = await runCli(['reconcile', '--concurrency', value], {
        INSTANT_APP_ID: '11111111-1111-4111-8111-111111111111',
        INSTANT_ADMIN_TOKEN: 'x',
        INSTANT_PLATFORM_TOKEN: 'y',
      });
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toBe(
        `instant-provisioner: --concurrency must be a whole number ≥ 1 (got "${value}")`,
      );
    }
    expect((await runCli(['reconcile', '--no-such-flag'], {})).code).toBe(2);
  });

  it('a platform token the API rejects is named at start, exit 2, without printing the token', async () => {
    const w = (current = await world());
    const result = await runCli(['reconcile', '--once'], { ...w.env, INSTANT_PLATFORM_TOKEN: 'per_' + 'f'.repeat(64) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('rejected the platform token');
    expect(result.stderr + result.stdout).not.toContain('f'.repeat(64));
  });

  it('a main-app admin token that is rejected is named at start, exit 2, without printing the token', async () => {
    const w = (current = await world());
    const bad = '99999999-9999-4999-8999-999999999999';
    const result = await runCli(['reconcile', '--once'], { ...w.env, INSTANT_ADMIN_TOKEN: bad });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('rejected INSTANT_ADMIN_TOKEN');
    expect(result.stderr + result.stdout).not.toContain(bad);
  });

  it('a template that cannot be used stops the daemon at start: one line naming the file, exit 2', async () => {
    const env = {
      INSTANT_APP_ID: '11111111-1111-4111-8111-111111111111',
      INSTANT_ADMIN_TOKEN: 'x',
      INSTANT_PLATFORM_TOKEN: 'y',
    };
    const missing = await runCli(['reconcile', '--template-schema', '/nonexistent/schema.ts'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('instant-provisioner: template /nonexistent/schema.ts: does not exist');
    const dir = await mkdtemp(join(tmpdir(), 'cli-template-'));
    const rules = join(dir, 'perms.json');
    await writeFile(rules, JSON.stringify({ notes: { allow: { view: 1 } } }));
    const bad = await runCli(['reconcile', '--once'], { ...env, PROVISIONER_TEMPLATE_PERMS: rules });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      `instant-provisioner: template ${rules}: notes.allow.view must be a string (a CEL expression such as "true"), got 1`,
    );
    // A rule that parses but does not compile (a typo in a variable): the server would refuse every create.
    const typo = join(dir, 'typo.json');
    await writeFile(typo, JSON.stringify({ notes: { allow: { view: 'auht.id != null' } } }));
    const refused = await runCli(['reconcile', '--once'], { ...env, PROVISIONER_TEMPLATE_PERMS: typo });
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      `instant-provisioner: template ${typo}: notes.allow.view does not compile: Unknown variable: auht`,
    );
  });

  it('a port in use is one line naming the flag and the port, exit 2, for reconcile and start', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const w = (current = await world());
      const reconcile = await runCli(['reconcile', '--http-port', String(port)], w.env);
      expect(reconcile.code).toBe(2);
      const line = `instant-provisioner: --http-port ${port} is in use on 127.0.0.1; choose another port, or 0 for any free one`;
      expect(reconcile.stderr.trim()).toBe(line);
      // Without credentials, start runs the demo: the sandbox on --port, the live page on --http-port.
      const livePage = await runCli(['start', '--port', '0', '--http-port', String(port)], {});
      expect([livePage.code, livePage.stderr.trim()]).toEqual([2, line]);
      const sandbox = await runCli(['start', '--port', String(port)], {});
      expect([sandbox.code, sandbox.stderr.trim()]).toEqual([
        2,
        `instant-provisioner: --port ${port} is in use on 127.0.0.1; choose another port, or 0 for any free one`,
      ]);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('--help documents every flag of every command, as commander defines them', async () => {
    const commands = allCommands(program).filter((command) => command.options.length > 0);
    expect(commands.map(commandPath)).toEqual(
      expect.arrayContaining(['reconcile', 'start', 'sandbox', 'status', 'template push', 'rotate-token-key']),
    );
    const reconcileFlags = commands.find((command) => command.name() === 'reconcile')!.options;
    // Every setting, and --once.
    expect(reconcileFlags.length).toBe(Object.keys(SETTINGS).length + 1);
    for (const command of commands) {
      const result = await runCli([...commandPath(command).split(' '), '--help'], {});
      expect(result.code).toBe(0);
      for (const option of command.options) {
        // Followed by a space, a comma or the end: --token-key must not pass on --token-key-id.
        const shown = new RegExp(`(^|[\\s,])${option.long!}(?=[\\s,=]|$)`, 'm');
        expect(result.stdout, `${commandPath(command)} --help shows ${option.long}`).toMatch(shown);
      }
    }
  });
});
