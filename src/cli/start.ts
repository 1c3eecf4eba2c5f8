/**
 * `instant-provisioner start` (what `npm start` runs): the daemon against your
 * InstantDB when credentials are set, otherwise a demo of the whole system on a
 * local sandbox.
 */
import { Command, Option } from 'commander';
import { hasCredentials, type Env, type Flags } from '../config.js';
import { DemoListenError, startDemo } from '../demo/demo.js';
import { createConfiguredLogger } from '../logger.js';
import { readEnv } from './env.js';
import { EXIT } from './exit-codes.js';
import { addSettingFlags } from './options.js';
import { listenProblem } from './listen-problem.js';
import { printConfigProblems, stoppedExitCode, untilStopped, withStopSignal } from './process.js';
import { reconcile } from './reconcile.js';

export function startCommand(): Command {
  const command = new Command('start')
    .description(
      'Run the daemon (like `reconcile`) when InstantDB credentials are set; with none, run the whole system on a local sandbox with demo tasks.',
    )
    .addOption(new Option('--port <port>', 'demo only: sandbox port (0 picks a free one)').default('8787'))
    .addOption(new Option('--task-every <ms>', 'demo only: create a demo task this often').default('3000'))
    .addOption(
      new Option('--page-port <port>', 'demo only: operator page port (default --port + 2; 0 picks a free one)'),
    );
  addSettingFlags(command);
  return command.action(async (options: StartOptions) => {
    process.exitCode = await start(options);
  });
}

type StartOptions = Flags & { port: string; taskEvery: string; pagePort?: string };

async function start(options: StartOptions): Promise<number> {
  const env = readEnv();
  const { port, taskEvery, pagePort, ...flags } = options;
  if (hasCredentials(env) || flags.appId || flags.adminToken || flags.platformToken) return reconcile(flags);

  const portNumber = Number(port);
  const every = Number(taskEvery);
  if (!Number.isInteger(portNumber) || portNumber < 0 || portNumber > 65_535)
    return usage(`--port must be a port number (got "${port}")`);
  if (!Number.isInteger(every) || every < 100)
    return usage(`--task-every must be a whole number of ms ≥ 100 (got "${taskEvery}")`);
  // The operator page sits two ports above the sandbox (the live page takes the one between).
  const pagePortNumber = pagePort === undefined ? (portNumber === 0 ? 0 : portNumber + 2) : Number(pagePort);
  if (!Number.isInteger(pagePortNumber) || pagePortNumber < 0 || pagePortNumber > 65_535)
    return usage(`--page-port must be a port number (got "${pagePort}")`);

  // The demo shows its live page: next to the sandbox, or on any free port when the sandbox takes one.
  if (flags.httpPort === undefined && !env.PROVISIONER_HTTP_PORT)
    flags.httpPort = String(portNumber === 0 ? 0 : portNumber + 1);
  return withStopSignal((stopping) =>
    runDemo({ port: portNumber, pagePort: pagePortNumber, taskEveryMs: every, env, flags }, stopping),
  );
}

async function runDemo(
  options: { port: number; pagePort: number; taskEveryMs: number; env: Env; flags: Flags },
  stopping: AbortSignal,
): Promise<number> {
  let demo;
  try {
    demo = await startDemo({ ...options, logger: createConfiguredLogger });
  } catch (error) {
    // The sandbox listens on --port, the live page on --http-port, the operator page on --page-port: name the one that failed.
    const problem = error instanceof DemoListenError ? listenProblem(error.cause, error.setting) : null;
    return problem === null ? printConfigProblems(error) : usage(problem);
  }
  await untilStopped(stopping);
  await demo.stop();
  return stoppedExitCode(stopping.reason);
}

function usage(problem: string): number {
  process.stderr.write(`instant-provisioner: ${problem}\n`);
  return EXIT.config;
}
