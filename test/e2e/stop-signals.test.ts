/**
 * Ctrl-C exits 130 in every command, once work in flight is done; SIGTERM stops a long-running
 * command with 0, and interrupts one-off work with 130. Through the built CLI.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, createTasks, eventually, runCli, spawnDaemon, world, type RunningDaemon, type World } from './helpers.js';

let current: World | undefined;
let daemons: RunningDaemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.map((daemon) => daemon.stop()));
  daemons = [];
  await current?.close();
  current = undefined;
});

/** Starts the CLI, waits until `ready(stdout + stderr)`, sends `signal`; resolves with the exit code. */
async function interrupt(
  args: string[],
  env: Record<string, string>,
  ready: (output: string) => boolean,
  signal: NodeJS.Signals,
) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await eventually(() => ready(output)).catch((error: unknown) => {
    child.kill('SIGKILL'); // never left running by a failed test
    throw error;
  });
  child.kill(signal);
  return exited;
}

describe('stop signals', () => {
  it('the daemon: Ctrl-C exits 130 after a clean stop; SIGTERM exits 0', async () => {
    const w = (current = await world());
    const interrupted = spawnDaemon(['reconcile'], w.env);
    daemons.push(interrupted);
    await interrupted.waitFor('reconciling');
    interrupted.signal('SIGINT');
    expect(await interrupted.exited).toBe(130);
    expect(interrupted.entries.map((entry) => entry.msg)).toContain('stopped');

    const terminated = spawnDaemon(['reconcile'], w.env);
    daemons.push(terminated);
    await terminated.waitFor('reconciling');
    expect(await terminated.stop()).toBe(0);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 0],
  ] as const)('the sandbox: %s exits %i', async (signal, code) => {
    const listening = (output: string) => output.includes('sandbox listening');
    expect(await interrupt(['sandbox', '--port', '0'], {}, listening, signal)).toBe(code);
  });

  it('one-off work (rotate-token-key) caught in a write: Ctrl-C exits 130 at once', async () => {
    const w = (current = await world());
    await createTasks(w.db, 2);
    expect((await runCli(['reconcile', '--once'], w.env)).code).toBe(0);
    // Every write now waits a minute in the sandbox: the command is caught in its first one.
    w.sandbox.faults.set({ transactLatency: 60_000 });
    const key = Buffer.alloc(32, 7).toString('base64');
    const writing = () => w.sandbox.stats().held > 0;
    const code = await interrupt(['rotate-token-key'], { ...w.env, PROVISIONER_TOKEN_KEY: key }, writing, 'SIGINT');
    expect(code).toBe(130);
  });
});
