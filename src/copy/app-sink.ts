/**
 * Writes into an app over its admin API. The schema goes first (a schema push: adds what is
 * missing, never deletes; a new app's push adds attributes at once, an existing attribute whose
 * flags change is a background job this waits for), then the rules, then each page as raw
 * transact steps, the way the SDK sends them: per entity one `update` (an upsert that keeps the
 * id) and one `link` per forward link label. An entity's steps always share a transaction, so
 * required attributes and required links are checked together, and writing a page again leaves
 * one copy of each entity: upserts and links are idempotent (a has-one link to the same target,
 * a unique value on the same entity).
 */
import { sleep, systemClock, type Clock } from '../clock.js';
import { CopyError } from '../errors.js';
import type { AppClient } from './app-client.js';
import { AppSource } from './app-source.js';
import { canonicalJson } from '../core/canonical-json.js';
import { COPIED_SYSTEM_NAMESPACE, schemaDifferences } from './schema-defs.js';
import type { CopiedEntity, CopyConfig, CopySink, CopySource, NamespacePlan } from './types.js';

export interface AppSinkOptions {
  /** A transaction holds at most this many entities… */
  batchEntities?: number;
  /** …and a body of about this many bytes (an entity's steps are never split). */
  batchBytes?: number;
  /** Transactions in flight at once. */
  inFlight?: number;
  clock?: Clock;
  /** How long a schema push's indexing jobs may take. */
  jobsTimeoutMs?: number;
}

export class AppSink implements CopySink {
  readonly resumable = true;
  private config: CopyConfig | null = null;

  constructor(
    private readonly client: AppClient,
    private readonly options: AppSinkOptions = {},
  ) {}

  async begin(config: CopyConfig, signal: AbortSignal): Promise<void> {
    this.config = config;
    if (Object.keys(config.schema.entities).length > 0 || Object.keys(config.schema.links).length > 0) {
      const group = await this.client.pushSchema(config.schema, signal);
      if (group) await this.waitForJobs(group, signal);
    }
    if (config.rules !== null) await this.client.pushPerms(config.rules, signal);
  }

  async writePage(plan: NamespacePlan, page: CopiedEntity[], signal: AbortSignal): Promise<void> {
    const { batchEntities = 1_000, batchBytes = 1_500_000, inFlight = 2 } = this.options;
    const batches: { steps: string[]; entities: CopiedEntity[] }[] = [];
    let current: { steps: string[]; entities: CopiedEntity[] } = { steps: [], entities: [] };
    let bytes = 0;
    for (const entity of page) {
      const steps = entitySteps(plan.name, entity);
      const size = steps.reduce((sum, step) => sum + step.length + 1, 0);
      if (current.entities.length > 0 && (current.entities.length >= batchEntities || bytes + size > batchBytes)) {
        batches.push(current);
        current = { steps: [], entities: [] };
        bytes = 0;
      }
      current.steps.push(...steps);
      current.entities.push(entity);
      bytes += size;
    }
    if (current.entities.length > 0) batches.push(current);
    let next = 0;
    const worker = async () => {
      while (next < batches.length) await this.send(plan, batches[next++]!, signal);
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, batches.length) }, worker));
  }

  /** Checks that the app took the schema and rules; returns a source that reads the app with the copy's plan. */
  async finish(signal: AbortSignal): Promise<CopySource> {
    const config = this.config;
    if (!config) throw new Error('AppSink.finish before begin');
    const taken = await new AppSource(this.client).readConfig(signal);
    const problems = schemaDifferences(config.schema, taken.schema);
    if (config.rules !== null && canonicalJson(config.rules) !== canonicalJson(taken.rules))
      problems.push('the rules differ');
    if (problems.length > 0)
      throw new CopyError('verify-failed', `verify failed: the copy's schema or rules differ (${problems.join('; ')})`);
    return new AppSource(this.client, undefined, config);
  }

  sizeBytes(): null {
    return null;
  }

  async commit(): Promise<void> {}

  async close(): Promise<void> {}

  private async send(
    plan: NamespacePlan,
    batch: { steps: string[]; entities: CopiedEntity[] },
    signal: AbortSignal,
  ): Promise<void> {
    try {
      await this.client.transact(batch.steps, signal);
    } catch (error) {
      if (plan.name !== COPIED_SYSTEM_NAMESPACE || !refusesUserCreates(error)) throw error;
      // A server that only makes `$users` rows itself: have it make them (same id and email), then write.
      for (const user of batch.entities) {
        const email = user.attrs['email'];
        await this.client.ensureUser({ id: user.id, ...(typeof email === 'string' ? { email } : {}) }, signal);
      }
      await this.client.transact(batch.steps, signal);
    }
  }

  private async waitForJobs(group: string, signal: AbortSignal): Promise<void> {
    const clock = this.options.clock ?? systemClock;
    const deadline = clock.now() + (this.options.jobsTimeoutMs ?? 600_000);
    for (let interval = 100; ; interval = Math.min(interval * 2, 5_000)) {
      const jobs = await this.client.indexingJobs(group, signal);
      const failed = jobs.filter((job) => job.status === 'errored');
      if (failed.length > 0)
        throw new CopyError(
          'rejected',
          `the schema push's indexing jobs failed (${failed.map((job) => job.error ?? 'errored').join(', ')})`,
        );
      if (jobs.every((job) => job.status === 'completed')) return;
      if (clock.now() > deadline) throw new CopyError('unavailable', "the schema push's indexing jobs did not finish");
      await sleep(clock, interval, signal);
    }
  }
}

/** The raw steps of one entity: an upsert of its attributes, and a link per forward link label. */
export function entitySteps(ns: string, entity: CopiedEntity): string[] {
  const nsJson = JSON.stringify(ns);
  const idJson = JSON.stringify(entity.id);
  const steps = [`["update",${nsJson},${idJson},${JSON.stringify(entity.attrs)}]`];
  for (const label in entity.links) {
    const ids = entity.links[label]!;
    if (ids.length > 0) steps.push(`["link",${nsJson},${idJson},${JSON.stringify({ [label]: ids })}]`);
  }
  return steps;
}

function refusesUserCreates(error: unknown): boolean {
  return (
    error instanceof CopyError &&
    error.kind === 'rejected' &&
    error.type === 'validation-failed' &&
    error.message.includes('$users is a system entity')
  );
}
