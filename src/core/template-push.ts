/**
 * `template push`: brings every ready database whose template differs up to the
 * current one. For each app: the schema (push, then wait for the indexing jobs
 * it started), then the rules, and only then a fenced write that marks the
 * record with the template's hash. A run that stops half way is resumed by
 * running it again: unmarked records are pushed again, and pushing the same
 * template twice changes nothing.
 *
 * Requests go through the same gate as creates (a 429 paces every request) and
 * at most `concurrency` apps are worked on at once. A retryable failure (5xx,
 * no answer) is retried with backoff; a refusal (4xx) fails that app with its
 * reason; a global condition (a rejected token) ends the run. Records whose apps live
 * on another server (`apiUri`, e.g. not yet migrated) are left alone and counted.
 */
import { livesOn } from '../api-uri.js';
import { AbortedError, sleep, type Clock } from '../clock.js';
import { PlatformError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import type { CreateGate } from './create-gate.js';
import { withDeadline } from './deadline.js';
import type { Logger } from './logger.js';
import type { IndexingJob, RecordCatalog, SchemaStep, Store, TemplateClient } from './ports.js';
import { errorMessage, isUniqueViolation } from './reconcile-context.js';
import { retryDelay, type BackoffPolicy } from './retry-policy.js';
import type { AppTemplate, DatabaseRecord } from './types.js';

export interface TemplatePushDeps {
  store: Store & RecordCatalog;
  client: TemplateClient;
  gate: CreateGate;
  clock: Clock;
  logger: Logger;
  random: () => number;
}

export interface TemplatePushSettings {
  template: AppTemplate;
  owner: string;
  concurrency: number;
  requestTimeoutMs: number;
  /** Tries per app for retryable failures. */
  maxAttempts: number;
  backoff: BackoffPolicy;
  pageSize: number;
  /** The configured server (normalized): records whose apps live on another one are left alone. */
  home: string;
}

export interface FailedApp {
  taskId: string;
  name: string;
  appId: string | null;
  reason: string;
}

export interface TemplatePushSummary {
  updated: number;
  /** Ready records that already had the template when the run started. */
  current: number;
  /** Ready records off the template whose apps live on another server (left alone). */
  elsewhere: number;
  failed: FailedApp[];
  /** Why the run ended early, if it did. */
  abortedBy: string | null;
  elapsedMs: number;
}

/** What a push would do to one app. */
export interface PlannedApp {
  taskId: string;
  name: string;
  appId: string;
  /** Schema changes; empty when the schema is already there (or the template has none). */
  steps: SchemaStep[];
  /** Whether the app's rules differ from the template's. */
  rulesChange: boolean;
}

export interface TemplatePlan {
  /** Ready records on another template, planned or failed. */
  total: number;
  current: number;
  /** Of `total`, those whose apps live on another server: not planned. */
  elsewhere: number;
  apps: PlannedApp[];
  failed: FailedApp[];
  abortedBy: string | null;
}

/** Reports progress: apps done (updated or failed) out of `total` (which may still grow). */
export type ProgressListener = (done: number, total: number) => void;

/** Pushes the template to every ready database not on it. */
export async function pushTemplate(
  deps: TemplatePushDeps,
  settings: TemplatePushSettings,
  signal: AbortSignal,
  onProgress: ProgressListener = () => {},
): Promise<TemplatePushSummary> {
  const startedAt = deps.clock.now();
  const { template, pageSize } = settings;
  const counts = await deps.store.countRecords(template.hash);
  const total = (counts.byStatus['ready'] ?? 0) - counts.onTemplate;
  const summary: TemplatePushSummary = {
    updated: 0,
    current: counts.onTemplate,
    elsewhere: 0,
    failed: [],
    abortedBy: null,
    elapsedMs: 0,
  };
  // Records this run does not mark (failed, or on another server): they stay in the query.
  const passedOver = new Set<string>();
  const run = new AppRun(deps, settings, signal);
  onProgress(0, total);
  while (!run.abortedBy) {
    // Marked records leave this query, so every page starts over; failed ones stay and are skipped.
    const page = (await deps.store.listRecordsOffTemplate(template.hash, pageSize + passedOver.size)).filter(
      (record) => !passedOver.has(record.id),
    );
    if (page.length === 0) break;
    const done = () => summary.updated + summary.failed.length + summary.elsewhere;
    const here = page.filter((record) => livesOn(record.apiUri, settings.home));
    for (const record of page) {
      if (here.includes(record)) continue;
      passedOver.add(record.id);
      summary.elsewhere++;
    }
    onProgress(done(), Math.max(total, done()));
    await run.each(here, async (record) => {
      const failure = await run.pushOne(record);
      if (failure === 'aborted') return;
      if (failure) {
        passedOver.add(record.id);
        summary.failed.push(failure);
      } else summary.updated++;
      onProgress(done(), Math.max(total, done()));
    });
  }
  summary.abortedBy = run.abortedBy;
  summary.elapsedMs = deps.clock.now() - startedAt;
  return summary;
}

/** What `template push` would change, app by app, without changing anything. */
export async function planTemplate(
  deps: TemplatePushDeps,
  settings: TemplatePushSettings,
  signal: AbortSignal,
  onProgress: ProgressListener = () => {},
): Promise<TemplatePlan> {
  const { template, pageSize } = settings;
  const counts = await deps.store.countRecords(template.hash);
  const total = (counts.byStatus['ready'] ?? 0) - counts.onTemplate;
  const plan: TemplatePlan = { total, current: counts.onTemplate, elsewhere: 0, apps: [], failed: [], abortedBy: null };
  const run = new AppRun(deps, settings, signal);
  onProgress(0, total);
  for (let offset = 0; !run.abortedBy; offset += pageSize) {
    const page = await deps.store.listRecordsOffTemplate(template.hash, pageSize, offset);
    if (page.length === 0) break;
    const here = page.filter((record) => livesOn(record.apiUri, settings.home));
    plan.elsewhere += page.length - here.length;
    await run.each(here, async (record) => {
      const planned = await run.planOne(record);
      if (planned === 'aborted') return;
      if ('reason' in planned) plan.failed.push(planned);
      else plan.apps.push(planned);
      const done = plan.apps.length + plan.failed.length + plan.elsewhere;
      onProgress(done, Math.max(total, done));
    });
  }
  plan.abortedBy = run.abortedBy;
  return plan;
}

/** One run's shared machinery: the worker pool, retries under the gate, the fenced mark. */
class AppRun {
  abortedBy: string | null = null;

  constructor(
    private readonly deps: TemplatePushDeps,
    private readonly settings: TemplatePushSettings,
    private readonly signal: AbortSignal,
  ) {}

  /** Runs `work` over `records`, `concurrency` at a time. */
  async each(records: DatabaseRecord[], work: (record: DatabaseRecord) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < records.length && !this.abortedBy && !this.signal.aborted) await work(records[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.concurrency, records.length) }, worker));
    if (this.signal.aborted) this.abortedBy ??= 'interrupted';
  }

  /** Pushes the template to one app and marks its record; a failure's description, or null. */
  async pushOne(record: DatabaseRecord): Promise<FailedApp | null | 'aborted'> {
    const { template } = this.settings;
    const appId = record.instantAppId!;
    const log = this.deps.logger.child({ taskId: record.taskId, databaseId: record.id, appId });
    const outcome = await this.attempt(record, async (signal) => {
      if (template.schema) await this.pushSchema(appId, template.schema, signal);
      await this.call((deadline) => this.deps.client.pushPerms(appId, template.perms, deadline), signal);
    });
    if (outcome !== 'ok') return outcome;
    const marked = await this.mark(record);
    if (marked !== 'ok') return this.failure(record, marked);
    log.info({ templateHash: template.hash }, 'pushed the template');
    return null;
  }

  /** What a push would change in one app. */
  async planOne(record: DatabaseRecord): Promise<PlannedApp | FailedApp | 'aborted'> {
    const { template } = this.settings;
    const appId = record.instantAppId!;
    let planned: PlannedApp | undefined;
    const outcome = await this.attempt(record, async (signal) => {
      const steps = template.schema
        ? await this.call((deadline) => this.deps.client.planSchema(appId, template.schema!, deadline), signal)
        : [];
      const perms = await this.call((deadline) => this.deps.client.getPerms(appId, deadline), signal);
      planned = {
        taskId: record.taskId,
        name: record.name,
        appId,
        steps,
        rulesChange: canonicalJson(perms) !== canonicalJson(template.perms),
      };
    });
    return outcome === 'ok' ? planned! : outcome;
  }

  /** Runs `operation` under the gate, retrying what may succeed later. */
  private async attempt(
    record: DatabaseRecord,
    operation: (signal: AbortSignal) => Promise<void>,
  ): Promise<'ok' | 'aborted' | FailedApp> {
    const { gate, clock, random } = this.deps;
    let attempts = 0;
    for (;;) {
      if (this.abortedBy) return 'aborted';
      let probe: boolean;
      try {
        probe = await gate.enter(this.signal);
      } catch (error) {
        if (error instanceof AbortedError) return 'aborted';
        throw error;
      }
      try {
        await operation(this.signal);
        gate.succeeded(probe);
        return 'ok';
      } catch (error) {
        if (error instanceof AbortedError || this.signal.aborted) {
          gate.withdrawn(probe);
          return 'aborted';
        }
        const failure = error instanceof PlatformError ? error : new PlatformError('network', errorMessage(error));
        gate.failed(failure, probe);
        if (failure.scope === 'global') {
          this.abortedBy ??= failure.message;
          return 'aborted';
        }
        // A 429 holds every request back at the gate and costs no attempt.
        if (failure.kind === 'rate-limited') continue;
        attempts++;
        if (!failure.retryable || attempts >= this.settings.maxAttempts) return this.failure(record, failure.message);
        this.deps.logger.warn(
          { taskId: record.taskId, appId: record.instantAppId, attempt: attempts, error: failure.message },
          'template push failed; will retry',
        );
        try {
          await sleep(clock, retryDelay(attempts, this.settings.backoff, random, failure.retryAfterMs), this.signal);
        } catch {
          return 'aborted';
        }
      }
    }
  }

  /** Pushes the schema and waits until every indexing job it started is done; an errored job fails the push. */
  private async pushSchema(appId: string, schema: Record<string, unknown>, signal: AbortSignal): Promise<void> {
    const { client, clock } = this.deps;
    const pushed = await this.call((deadline) => client.pushSchema(appId, schema, deadline), signal);
    let jobs = pushed.jobs;
    // As @instantdb/platform polls: from 100 ms, doubling up to 10 s.
    for (let interval = 100; pushed.groupId && !allDone(jobs); interval = Math.min(interval * 2, 10_000)) {
      await sleep(clock, interval, signal);
      jobs = await this.call((deadline) => client.indexingJobs(appId, pushed.groupId!, deadline), signal);
    }
    const errored = jobs.filter((job) => job.status === 'errored');
    if (errored.length > 0) {
      const reasons = errored.map((job) => `${job.target}: ${job.error ?? 'errored'}`).join(', ');
      throw new PlatformError('rejected', `schema push: indexing job failed (${reasons})`);
    }
  }

  /** Marks the record with the template, fenced; re-reads once if another write moved it first. */
  private async mark(record: DatabaseRecord): Promise<'ok' | string> {
    const { store } = this.deps;
    const { owner, template } = this.settings;
    let current = record;
    for (let tries = 0; tries < 2; tries++) {
      try {
        await store.update(current, owner, { templateHash: template.hash });
        return 'ok';
      } catch (error) {
        if (!isUniqueViolation(error, 'databaseFences', 'key'))
          return `could not mark the record (${errorMessage(error)})`;
      }
      const { record: latest } = await store.loadTask(record.taskId);
      if (!latest || latest.status !== 'ready' || latest.instantAppId !== record.instantAppId)
        return 'the record changed while pushing (task deleted or database replaced); run again';
      current = latest;
    }
    return 'the record keeps changing while pushing; run again';
  }

  private call<T>(operation: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(new AbortedError());
    return withDeadline(
      this.deps.clock,
      this.settings.requestTimeoutMs,
      operation,
      () => new PlatformError('timeout', 'the Platform API did not answer in time'),
    );
  }

  private failure(record: DatabaseRecord, reason: string): FailedApp {
    this.deps.logger.error(
      { taskId: record.taskId, databaseId: record.id, appId: record.instantAppId, error: reason },
      'template push failed',
    );
    return { taskId: record.taskId, name: record.name, appId: record.instantAppId, reason };
  }
}

function allDone(jobs: IndexingJob[]): boolean {
  return jobs.every((job) => job.status === 'completed' || job.status === 'errored');
}
