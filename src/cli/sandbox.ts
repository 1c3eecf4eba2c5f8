/**
 * `instant-provisioner sandbox`: runs the local InstantDB sandbox standalone, creates a main app
 * with the project schema, prints the environment a daemon needs, and runs until SIGINT/SIGTERM.
 */
import { Command, Option } from 'commander';
import perms from '../../instant.perms.js';
import schema from '../../instant.schema.js';
import { parseLatency, type FaultConfig } from '../sandbox/faults.js';
import { startSandbox } from '../sandbox/index.js';
import { EXIT } from './exit-codes.js';
import { stoppedExitCode, untilStopped, withStopSignal } from './process.js';

interface SandboxFlags {
  port: string;
  host: string;
  seed?: string;
  platformToken?: string;
  title: string;
  createLatency?: string;
  transactLatency?: string;
  p500?: string;
  p429?: string;
  p429Hint?: string;
  retryAfter?: string;
  pHang?: string;
  pLost?: string;
  pMalformed?: string;
  pMissingToken?: string;
  pSchemaFail?: string;
  pPush429?: string;
  windDown?: boolean;
  cloud?: boolean;
  pTransactFail?: string;
  sseDropEvery?: string;
}

type ProbabilityKey =
  | 'p500'
  | 'p429'
  | 'p429Hint'
  | 'pHang'
  | 'pLost'
  | 'pMalformed'
  | 'pMissingToken'
  | 'pSchemaFail'
  | 'pPush429'
  | 'pTransactFail';

/** Probability flags, named as their FaultConfig keys. */
const PROBABILITIES: [flag: string, key: ProbabilityKey, help: string][] = [
  ['--p-500', 'p500', 'answer a create with 500 (untyped body); no app is created'],
  ['--p-429', 'p429', 'answer a create with 429 rate-limited and a Retry-After header'],
  ['--p-429-hint', 'p429Hint', "answer a create with 429 rate-limited, the wait in hint['retry-after']"],
  ['--p-hang', 'pHang', 'never answer a create (until the client gives up)'],
  ['--p-lost', 'pLost', 'create the app, then drop the connection without an answer'],
  ['--p-malformed', 'pMalformed', 'answer a create with an HTML 502 page; no app is created'],
  ['--p-missing-token', 'pMissingToken', 'create the app, answer 200 JSON without admin-token'],
  ['--p-schema-fail', 'pSchemaFail', 'create the app, then fail its schema step (400 or 500); the app stays'],
  ['--p-push-429', 'pPush429', 'answer a template push request (schema plan/apply, perms) with 429 rate-limited'],
  ['--p-transact-fail', 'pTransactFail', 'fail an /admin/transact with 500; nothing is applied'],
];

/** The `sandbox` command: flags, help text and the action that runs the sandbox until a stop signal. */
export function sandboxCommand(): Command {
  const command = new Command('sandbox')
    .description(
      'Run the local InstantDB sandbox (admin + platform endpoints, in memory), create a main app with the ' +
        'project schema, and print the environment a daemon needs. Runs until SIGINT/SIGTERM.',
    )
    .addOption(new Option('--port <port>', 'port to listen on (0 picks a free one)').default('8787'))
    .addOption(new Option('--host <host>', 'interface to listen on').default('127.0.0.1'))
    .addOption(new Option('--seed <n>', 'seed for fault dice, app ids and tokens (random when absent)'))
    .addOption(
      new Option('--platform-token <token>', 'platform token to accept, per_… (default: derived from the seed)'),
    )
    .addOption(new Option('--title <title>', 'title of the main app').default('instant-provisioner-main'))
    .addOption(
      new Option(
        '--create-latency <ms>',
        'delay every app create: MS, fixed:MS, uniform:MIN:MAX or normal:MEAN:SD (clamped at 0)',
      ),
    )
    .addOption(
      new Option(
        '--transact-latency <ms>',
        'delay every /admin/transact, as in transit (same forms); a client gone meanwhile loses its write',
      ),
    );
  for (const [flag, , help] of PROBABILITIES) command.addOption(new Option(`${flag} <p>`, `probability 0..1: ${help}`));
  command
    .addOption(new Option('--retry-after <s>', 'seconds announced by the 429 faults (default 1)'))
    .addOption(new Option('--wind-down', 'answer every create with 400 app-creation-disabled'))
    .addOption(
      new Option(
        '--cloud',
        'answer as Instant Cloud does since sign-ups closed: POST /dash/apps (chosen ids) is refused, POST /superadmin/apps creates',
      ),
    )
    .addOption(new Option('--sse-drop-every <ms>', 'end every open subscribe-query stream this often (0: never)'));
  return command.action(async (flags: SandboxFlags) => {
    process.exitCode = await withStopSignal((stopping) => runSandbox(flags, stopping));
  });
}

async function runSandbox(flags: SandboxFlags, stopping: AbortSignal): Promise<number> {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(flags);
  } catch (error) {
    process.stderr.write(`instant-provisioner: ${(error as Error).message}\n`);
    return EXIT.config;
  }
  let sandbox;
  try {
    sandbox = await startSandbox(parsed);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    process.stderr.write(`instant-provisioner: port ${parsed.port} is in use; pass --port 0 for any free port\n`);
    return EXIT.config;
  }
  const app = sandbox.createApp({ title: flags.title, schema, perms });
  process.stdout.write(
    [
      `export INSTANT_API_URI=${sandbox.url}`,
      `export INSTANT_APP_ID=${app.id}`,
      `export INSTANT_ADMIN_TOKEN=${app.adminToken}`,
      `export INSTANT_PLATFORM_TOKEN=${sandbox.platformToken}`,
      '',
    ].join('\n'),
  );
  process.stderr.write(
    `instant-provisioner: sandbox listening on ${sandbox.url} (seed ${sandbox.seed}); ` +
      `faults ${JSON.stringify(sandbox.faults.get())}; its organisation (INSTANT_ORG_ID) is ${sandbox.orgId}; Ctrl-C stops it\n` +
      `instant-provisioner: browsers: init({ appId: '${app.id}', apiURI: '${sandbox.url}', ` +
      `websocketURI: '${sandbox.websocketURI}' }) with @instantdb/react or @instantdb/core\n`,
  );
  await untilStopped(stopping);
  await sandbox.close();
  return stoppedExitCode(stopping.reason);
}

/** Turns flag strings into sandbox options; throws one message naming the bad flag. */
export function parseFlags(flags: SandboxFlags) {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`--port must be a port number (got "${flags.port}")`);
  const faults: Partial<FaultConfig> = {};
  for (const [flag, key] of PROBABILITIES) {
    const raw = flags[key];
    if (raw === undefined) continue;
    const p = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(p) || p < 0 || p > 1)
      throw new Error(`${flag} must be a probability between 0 and 1 (got "${raw}")`);
    faults[key] = p;
  }
  if (flags.createLatency !== undefined) {
    try {
      faults.createLatency = parseLatency(flags.createLatency);
    } catch (error) {
      throw new Error(`--create-latency: ${(error as Error).message}`);
    }
  }
  if (flags.transactLatency !== undefined) {
    try {
      faults.transactLatency = parseLatency(flags.transactLatency);
    } catch (error) {
      throw new Error(`--transact-latency: ${(error as Error).message}`);
    }
  }
  if (flags.retryAfter !== undefined) faults.retryAfter = wholeNumber('--retry-after', flags.retryAfter);
  if (flags.sseDropEvery !== undefined) faults.sseDropEvery = wholeNumber('--sse-drop-every', flags.sseDropEvery);
  if (flags.windDown) faults.windDown = true;
  let seed: number | undefined;
  if (flags.seed !== undefined) seed = wholeNumber('--seed', flags.seed);
  if (flags.platformToken !== undefined && !/^per_[0-9a-f]{64}$/.test(flags.platformToken)) {
    throw new Error('--platform-token must be per_ followed by 64 hex digits');
  }
  return {
    port,
    host: flags.host,
    faults,
    cloud: flags.cloud === true,
    ...(seed !== undefined ? { seed } : {}),
    ...(flags.platformToken !== undefined ? { platformToken: flags.platformToken } : {}),
  };
}

function wholeNumber(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(n) || n < 0)
    throw new Error(`${flag} must be a whole number ≥ 0 (got "${raw}")`);
  return n;
}
