/**
 * Bringing one app's rules and schema to a template, as `template push` does for every app and a
 * chosen-id create does for an app whose create did not answer with a clean 200 (the server writes
 * the app row before its rules and schema, so such an app may lack them).
 */
import { sleep, type Clock } from '../clock.js';
import { PlatformError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import type { IndexingJob, TemplateClient } from './ports.js';
import type { AppTemplate } from './types.js';

/** Runs one request under a deadline (the caller's). */
export type Call = <T>(operation: (signal: AbortSignal) => Promise<T>) => Promise<T>;

/** True when an app's stored rules are not the template's (key order does not matter). */
export function rulesDiffer(stored: Record<string, unknown> | null, template: AppTemplate): boolean {
  return canonicalJson(stored) !== canonicalJson(template.perms);
}

/**
 * Pushes the schema and waits until every indexing job it started is done (polling as
 * @instantdb/platform does: from 100 ms, doubling up to 10 s); an errored job fails the push.
 */
export async function pushSchemaAndWait(
  client: TemplateClient,
  clock: Clock,
  call: Call,
  appId: string,
  schema: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<void> {
  const pushed = await call((deadline) => client.pushSchema(appId, schema, deadline));
  let jobs = pushed.jobs;
  for (let interval = 100; pushed.groupId && !allDone(jobs); interval = Math.min(interval * 2, 10_000)) {
    await sleep(clock, interval, signal);
    jobs = await call((deadline) => client.indexingJobs(appId, pushed.groupId!, deadline));
  }
  const errored = jobs.filter((job) => job.status === 'errored');
  if (errored.length > 0) {
    const reasons = errored.map((job) => `${job.target}: ${job.error ?? 'errored'}`).join(', ');
    throw new PlatformError('rejected', `schema push: indexing job failed (${reasons})`);
  }
}

/**
 * Checks the app's rules and schema against the template and pushes what differs, rules first (an
 * app without rules is open to every client). Returns what it pushed.
 */
export async function syncTemplate(
  client: TemplateClient,
  clock: Clock,
  call: Call,
  appId: string,
  template: AppTemplate,
): Promise<{ rules: boolean; schema: boolean }> {
  const pushed = { rules: false, schema: false };
  const perms = await call((signal) => client.getPerms(appId, signal));
  if (rulesDiffer(perms, template)) {
    await call((signal) => client.pushPerms(appId, template.perms, signal));
    pushed.rules = true;
  }
  if (template.schema) {
    const schema = template.schema;
    const steps = await call((signal) => client.planSchema(appId, schema, signal));
    if (steps.length > 0) {
      await pushSchemaAndWait(client, clock, call, appId, schema);
      pushed.schema = true;
    }
  }
  return pushed;
}

function allDone(jobs: IndexingJob[]): boolean {
  return jobs.every((job) => job.status === 'completed' || job.status === 'errored');
}
