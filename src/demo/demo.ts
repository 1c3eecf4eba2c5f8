/**
 * The whole system on the local sandbox, for `npm start` without credentials:
 * a sandbox with the project's schema pushed into a main app, the reconciler
 * against it, the operator page (a React page on the real `@instantdb/react`,
 * where two demo users sign in and create tasks; operator-page-server.ts), and
 * a stand-in "browser" of a third user that creates a task every few seconds
 * and watches each one get its database.
 */
import { id, init } from '@instantdb/admin';
import perms from '../../instant.perms.js';
import schema from '../../instant.schema.js';
import { Provisioner, connectPorts } from '../app.js';
import { loadConfig, type Config, type Env, type Flags } from '../config.js';
import type { Logger } from '../core/logger.js';
import { Operations } from '../ops/operations.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import type { DemoUser } from '../web/operator-page/page-config.js';
import { startOperatorPageServer, type OperatorPageServer } from './operator-page-server.js';

export interface DemoOptions {
  port: number;
  /** Where the operator page listens (0: any free port). */
  pagePort: number;
  taskEveryMs: number;
  env: Env;
  flags: Flags;
  logger: (config: Config, secrets: string[]) => Logger;
}

export interface RunningDemo {
  sandbox: Sandbox;
  /** The operator page's URL (ends in `/`). */
  pageUrl: string;
  /** The daemon's live page, when it serves one. */
  livePageUrl: string | null;
  stop(): Promise<void>;
}

/** One of the demo's servers could not listen: `setting` names which, `cause` is node's error. */
export class DemoListenError extends Error {
  override readonly name = 'DemoListenError';
  constructor(
    readonly setting: '--port' | '--http-port' | '--page-port',
    override readonly cause: unknown,
  ) {
    super(`${setting}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  // A create takes a moment, as on a real server, so `provisioning` is visible before `ready`.
  const sandbox = await startSandbox({
    port: options.port,
    faults: { createLatency: { kind: 'uniform', min: 300, max: 900 } },
  }).catch((error: unknown) => {
    throw new DemoListenError('--port', error);
  });
  // "Pushing the schema": the main app is created with instant.schema.ts, as `instant-cli push` would.
  const main = sandbox.createApp({ title: 'operator-app (demo)', schema, perms });
  const config = loadConfig(
    {
      ...options.env,
      INSTANT_APP_ID: main.id,
      INSTANT_ADMIN_TOKEN: main.adminToken,
      INSTANT_PLATFORM_TOKEN: sandbox.platformToken,
      INSTANT_API_URI: sandbox.url,
    },
    options.flags,
  );
  const logger = options.logger(config, [main.adminToken, sandbox.platformToken]);
  const operations = config.httpPort === undefined ? null : new Operations(config, logger);
  const telemetry = operations?.telemetry;
  const provisioner = new Provisioner(config, connectPorts(config, logger, telemetry), logger, {
    ...(telemetry ? { telemetry } : {}),
  });
  let server: Awaited<ReturnType<Operations['serve']>> | null = null;
  try {
    server = operations ? await operations.serve(provisioner, config.httpPort ?? 0) : null;
  } catch (error) {
    await sandbox.close();
    throw new DemoListenError('--http-port', error);
  }
  provisioner.start();

  const operator = init({ appId: main.id, adminToken: main.adminToken, apiURI: sandbox.url, schema });
  let page: OperatorPageServer;
  try {
    page = await startOperatorPageServer({
      port: options.pagePort,
      host: config.httpHost,
      config: {
        appId: main.id,
        apiURI: sandbox.url,
        websocketURI: sandbox.websocketURI,
        users: await demoUsers(operator),
        livePageUrl: server ? `${server.url}/` : null,
      },
    });
  } catch (error) {
    await provisioner.stop();
    await server?.close();
    await sandbox.close();
    throw new DemoListenError('--page-port', error);
  }
  process.stdout.write(`\n  operator page     ${page.url}/   (sign in, create tasks, watch their databases arrive)\n`);
  if (server) process.stdout.write(`  live page         ${server.url}/\n`);

  printWhereToLook(sandbox, main.id, main.adminToken);
  // The browser is a signed-in user: what it writes and sees goes through instant.perms.ts.
  const email = 'demo-user@example.com';
  const signedIn = operator.asUser({ token: await operator.auth.createToken(email) });
  const { $users } = await operator.query({ $users: { $: { where: { email } } } });
  const browser = new DemoBrowser(signedIn, $users[0]!.id, operator, sandbox.url, logger.child({ demo: 'browser' }));
  const stopBrowser = browser.start(options.taskEveryMs);

  return {
    sandbox,
    pageUrl: `${page.url}/`,
    livePageUrl: server ? `${server.url}/` : null,
    async stop() {
      stopBrowser();
      await page.close();
      await provisioner.stop();
      await server?.close();
      await sandbox.close();
    },
  };
}

type MainDb = ReturnType<typeof init<typeof schema>>;

/**
 * The operator page's two users, with refresh tokens made as an app's own server makes them after
 * its sign-in (`auth.createToken`); the page signs in with them (`signInWithToken`).
 */
async function demoUsers(operator: MainDb): Promise<DemoUser[]> {
  const users = [
    { name: 'Ada', email: 'ada@example.com' },
    { name: 'Grace', email: 'grace@example.com' },
  ];
  return Promise.all(users.map(async (user) => ({ ...user, token: await operator.auth.createToken(user.email) })));
}

/** What a browser of the operator app does: create tasks, and watch them. */
class DemoBrowser {
  private readonly created = new Map<string, { title: string; at: number }>();
  private count = 0;

  constructor(
    /** The signed-in user's view (rules apply). */
    private readonly db: MainDb,
    private readonly userId: string,
    /** The operator's view (admin token), only to fetch a ready app's admin token for the greeting. */
    private readonly operator: MainDb,
    private readonly apiUri: string,
    private readonly log: Logger,
  ) {}

  start(everyMs: number): () => void {
    const subscription = this.db.subscribeQuery({ tasks: { mainDatabase: {} } }, (payload) => {
      if (payload.type === 'ok') void this.onSnapshot(payload.data.tasks);
    });
    void this.createTask();
    const timer = setInterval(() => void this.createTask(), everyMs);
    return () => {
      clearInterval(timer);
      subscription.close();
    };
  }

  private async createTask(): Promise<void> {
    const taskId = id();
    const title = `Demo task ${++this.count}`;
    this.created.set(taskId, { title, at: Date.now() });
    // Only task fields and its owner, as the rules let a browser write them; the database is the daemon's job.
    await this.db.transact(
      this.db.tx.tasks[taskId]!.update({ title, createdAt: Date.now() }).link({ owner: this.userId }),
    );
    this.log.info({ taskId }, `created "${title}"`);
  }

  private async onSnapshot(tasks: Array<{ id: string; mainDatabase?: unknown }>): Promise<void> {
    for (const task of tasks) {
      const seen = this.created.get(task.id);
      const database = task.mainDatabase as {
        id?: string;
        status?: string;
        name?: string;
        instantAppId?: string;
      } | null;
      if (!seen || database?.status !== 'ready' || !database.instantAppId) continue;
      this.created.delete(task.id);
      // The browser never sees an admin token (instant.perms.ts); the operator's view has it.
      const { databases } = await this.operator.query({ databases: { $: { where: { id: database.id! } } } });
      const adminToken = databases[0]?.adminToken;
      if (!adminToken) continue;
      await this.greet(database.instantAppId, adminToken);
      this.log.info(
        { taskId: task.id, appId: database.instantAppId, durationMs: Date.now() - seen.at },
        `"${seen.title}" got its database ${database.name}, and it answers queries`,
      );
    }
  }

  /** Proves the new database is real: write to it and read back with its own admin token. */
  private async greet(appId: string, adminToken: string): Promise<void> {
    const app = init({ appId, adminToken, apiURI: this.apiUri });
    await app.transact(app.tx.notes![id()]!.update({ text: 'hello from the demo' }));
    await app.query({ notes: {} });
  }
}

function printWhereToLook(sandbox: Sandbox, appId: string, adminToken: string): void {
  process.stdout.write(
    [
      '',
      'instant-provisioner demo: everything runs on a local InstantDB sandbox (no cloud account needed).',
      `  sandbox API       ${sandbox.url}`,
      `  every app so far  curl -s -H 'authorization: Bearer ${sandbox.platformToken}' ${sandbox.url}/__sandbox/apps`,
      `  sandbox stats     curl -s -H 'authorization: Bearer ${sandbox.platformToken}' ${sandbox.url}/__sandbox/stats`,
      '  to run another daemon against this sandbox:',
      `    INSTANT_API_URI=${sandbox.url} INSTANT_APP_ID=${appId} \\`,
      `    INSTANT_ADMIN_TOKEN=${adminToken} INSTANT_PLATFORM_TOKEN=${sandbox.platformToken} \\`,
      '    npx instant-provisioner reconcile',
      'A demo task is created every few seconds; watch each one get its database below. Ctrl-C stops.',
      '',
      '',
    ].join('\n'),
  );
}
