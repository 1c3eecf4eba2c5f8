/**
 * The data side of `migrate` (core/operations/migrate-app.ts): each app reached on the source and
 * on the target with its own admin token (the same on both), over one keep-alive transport per
 * server. A 429 from a server pauses every request to it: one pause per server, shared with the
 * Platform calls of the run.
 */
import type { Clock } from '../clock.js';
import type { MigrationData, SourceApp, Survey } from '../core/operations/migrate-app.js';
import { frozenMark } from '../core/operations/frozen-rules.js';
import type { CreatedApp } from '../core/types.js';
import { CopyError } from '../errors.js';
import { HttpTransport } from '../platform/http-transport.js';
import { AppClient } from './app-client.js';
import { AppSink } from './app-sink.js';
import { AppSource } from './app-source.js';
import { instantEntity } from './archive-sink.js';
import { copy } from './copy.js';
import { RatePause } from './rate-pause.js';
import type { CopyConfig } from './types.js';

export interface AppMigrationOptions {
  sourceApiUri: string;
  targetApiUri: string;
  clock: Clock;
  /** Deadline of each request to an app. */
  timeoutMs?: number;
}

/** Ids counted per request in a dry run. */
const COUNT_PAGE = 5_000;
/** Entities of each namespace whose size stands for the rest in a dry run's estimate. */
const SAMPLE = 200;

interface Server {
  apiUri: string;
  transport: HttpTransport;
  pause: RatePause;
}

export class AppMigration implements MigrationData {
  private readonly source: Server;
  private readonly target: Server;

  constructor(private readonly options: AppMigrationOptions) {
    const server = (apiUri: string) => ({
      apiUri,
      transport: new HttpTransport(apiUri.replace(/\/+$/, '')),
      pause: new RatePause(options.clock),
    });
    this.source = server(options.sourceApiUri);
    this.target = server(options.targetApiUri);
  }

  /** The source server's pause (its Platform calls wait on it too). */
  get sourcePause(): RatePause {
    return this.source.pause;
  }

  get targetPause(): RatePause {
    return this.target.pause;
  }

  async readSource(app: CreatedApp, signal: AbortSignal): Promise<SourceApp | 'gone'> {
    let config: CopyConfig;
    try {
      config = await new AppSource(this.client(this.source, app)).readConfig(signal);
    } catch (error) {
      if (isGone(error)) return 'gone';
      throw error;
    }
    const frozen = frozenMark(config.rules);
    // A source left frozen by a killed run: what it carries is its own rules, which the frozen ones remember.
    const rules = frozen ? frozen.rules : config.rules;
    const { entities, links } = config.schema;
    const hasSchema = Object.keys(entities).length > 0 || Object.keys(links).length > 0;
    return {
      schema: hasSchema ? (config.schema as unknown as Record<string, unknown>) : null,
      rules,
      frozen,
      plan: { ...config, rules } satisfies CopyConfig,
    };
  }

  async readSourceRules(app: CreatedApp, signal: AbortSignal): Promise<Record<string, unknown> | null | 'gone'> {
    try {
      return await this.client(this.source, app).perms(signal);
    } catch (error) {
      if (isGone(error)) return 'gone';
      throw error;
    }
  }

  async pushSourceRules(app: CreatedApp, rules: Record<string, unknown>, signal: AbortSignal): Promise<void> {
    await this.client(this.source, app).pushPerms(rules, signal);
  }

  async copy(
    app: CreatedApp,
    source: SourceApp,
    signal: AbortSignal,
    onEntities: (entities: number) => void,
  ): Promise<number> {
    const from = new AppSource(this.client(this.source, app), undefined, source.plan as CopyConfig);
    const into = new AppSink(this.client(this.target, app), { clock: this.options.clock });
    const result = await copy(from, into, {
      signal,
      onProgress: (progress) => {
        if (progress.phase === 'copy') onEntities(progress.entities);
      },
    });
    return result.entityCount;
  }

  /**
   * Counts every namespace's entities (ids only, in pages) and estimates the bytes: each
   * namespace's count times the mean size of an archive line (`{"entity": …}`, links included) over
   * its first entities, as the admin API returns them.
   */
  async survey(app: CreatedApp, signal: AbortSignal): Promise<Survey> {
    const client = this.client(this.source, app);
    const source = new AppSource(client, { first: SAMPLE, min: 1, max: SAMPLE, targetBytes: 1 << 20 });
    const config = await source.readConfig(signal);
    const survey: Survey = { namespaces: {}, entityCount: 0, estimatedBytes: 0 };
    for (const plan of config.namespaces) {
      let count = 0;
      for (let offset = 0; ; offset += COUNT_PAGE) {
        const query = {
          [plan.name]: { $: { fields: ['id'], limit: COUNT_PAGE, offset, order: { serverCreatedAt: 'asc' } } },
        };
        const rows = (await client.query(query, signal)).body[plan.name];
        const found = Array.isArray(rows) ? rows.length : 0;
        count += found;
        if (found < COUNT_PAGE) break;
      }
      survey.namespaces[plan.name] = count;
      survey.entityCount += count;
      if (count === 0) continue;
      let sampled = 0;
      let bytes = 0;
      for await (const page of source.readNamespace(plan, 0, signal)) {
        for (const entity of page)
          bytes += Buffer.byteLength(`{"entity":${JSON.stringify(instantEntity(plan, entity))}}\n`);
        sampled += page.length;
        break;
      }
      if (sampled > 0) survey.estimatedBytes += Math.round((bytes / sampled) * count);
    }
    return survey;
  }

  close(): void {
    this.source.transport.close();
    this.target.transport.close();
  }

  private client(server: Server, app: CreatedApp): AppClient {
    return new AppClient(
      { apiUri: server.apiUri, appId: app.id, adminToken: app.adminToken },
      {
        transport: server.transport,
        pause: server.pause,
        clock: this.options.clock,
        ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
      },
    );
  }
}

/** The app's admin token no longer opens it: deleted (or never there). */
function isGone(error: unknown): boolean {
  return error instanceof CopyError && error.kind === 'token-rejected';
}
