/**
 * `schema push` as the server plans and applies it (schema.clj schemas->ops, apply-plan!,
 * create-indexing-jobs) for pushes made with check_types and supports_background_updates, as
 * @instantdb/platform and our client send them: new attributes and links are `add-attr` steps
 * applied at once; a changed index, uniqueness, requiredness or type on an existing attribute is
 * a background job that checks the stored data, then flips the flag. Nothing is ever deleted.
 * Jobs run on timers (waiting → processing → completed | errored), so polling is exercised.
 */
import type { SandboxApp } from './apps.js';
import type { Json } from './errors.js';
import type { AttrCatalog, BlobAttr } from './schema.js';
import { valueHasType } from './store.js';

/** One step in the server's printed form: `["add-attr", {...}]`, `["unique", {"attr-id", ...}]`. */
export type PushStep = [string, Record<string, Json>];

/** How long a background job takes once it is processing. */
const JOB_MS = 150;

/** The steps that would bring `app` to `wanted` (the pushed schema's catalogue), without changing anything. */
export function planSchemaPush(app: SandboxApp, wanted: AttrCatalog): PushStep[] {
  const current = app.catalog;
  const steps: PushStep[] = [];
  for (const ns of namespacesOf(wanted)) {
    const attrs = [...wanted.blobsOf(ns)].filter((a) => a.label !== 'id');
    if (attrs.length > 0 && !current.hasNamespace(ns)) steps.push(['add-attr', blobJson(wanted.blob(ns, 'id')!)]);
    for (const attr of attrs) {
      const existing = current.blob(ns, attr.label);
      if (!existing) {
        steps.push(['add-attr', blobJson(attr)]);
        continue;
      }
      const target = { 'attr-id': existing.id, 'forward-identity': [existing.identId, ns, attr.label] };
      if (attr.indexed !== existing.indexed) steps.push([attr.indexed ? 'index' : 'remove-index', target]);
      if (attr.unique !== existing.unique) steps.push([attr.unique ? 'unique' : 'remove-unique', target]);
      if (attr.required !== existing.required) steps.push([attr.required ? 'required' : 'remove-required', target]);
      if (attr.checkedType !== existing.checkedType)
        steps.push(
          attr.checkedType
            ? ['check-data-type', { ...target, 'checked-data-type': attr.checkedType }]
            : ['remove-data-type', target],
        );
    }
    for (const ref of wanted.fwdRefsOf(ns)) {
      if (current.fwdRef(ns, ref.label)) continue;
      const refJson = wanted.toApiSchema().refs;
      const key = Object.keys(refJson).find((k) =>
        k.startsWith(`[${JSON.stringify(ns)} ${JSON.stringify(ref.label)} `),
      );
      steps.push(['add-attr', refJson[key!] as Record<string, Json>]);
    }
  }
  return steps;
}

/** Applies `steps` (from planSchemaPush on the same app): attributes now, the rest as jobs. */
export function applySchemaPush(
  app: SandboxApp,
  steps: PushStep[],
  jobs: IndexingJobs,
  wanted: AttrCatalog,
): { steps: PushStep[]; 'indexing-jobs': Json } {
  const groupId = jobs.newId();
  const started: Record<string, Json>[] = [];
  const out: PushStep[] = [];
  for (const [action, details] of steps) {
    if (action === 'add-attr') {
      addFromWanted(app.catalog, wanted, details);
      out.push([action, details]);
      continue;
    }
    const job = jobs.start(app, groupId, action, details);
    started.push(job);
    out.push([action, { ...details, 'job-id': job['id']! }]);
  }
  return { steps: out, 'indexing-jobs': started.length ? { 'group-id': groupId, jobs: started } : null };
}

function addFromWanted(catalog: AttrCatalog, wanted: AttrCatalog, details: Record<string, Json>): void {
  const [, ns, label] = details['forward-identity'] as [string, string, string];
  if (details['value-type'] === 'ref') {
    const ref = wanted.fwdRef(ns, label)!;
    catalog.ensureNamespace(ref.ns);
    catalog.ensureNamespace(ref.revNs);
    catalog.addRef(ref);
  } else if (label === 'id') catalog.ensureNamespace(ns);
  else catalog.addBlob(wanted.blob(ns, label)!);
}

/** The background jobs of every app, by id, in the server's row form. */
export class IndexingJobs {
  private readonly rows = new Map<string, Record<string, Json>>();

  constructor(
    readonly newId: () => string,
    private readonly delay: (ms: number) => Promise<void>,
    private readonly now: () => number,
  ) {}

  /** The jobs of one push, as `GET /dash/apps/:id/indexing-jobs/group/:groupId` lists them. */
  group(appId: string, groupId: string): Record<string, Json>[] {
    return [...this.rows.values()].filter((row) => row['app_id'] === appId && row['group_id'] === groupId);
  }

  start(app: SandboxApp, groupId: string, jobType: string, details: Record<string, Json>): Record<string, Json> {
    const [, ns, label] = details['forward-identity'] as [string, string, string];
    const at = new Date(this.now()).toISOString();
    const row: Record<string, Json> = {
      id: this.newId(),
      app_id: app.id,
      group_id: groupId,
      attr_id: details['attr-id']!,
      attr_name: `${ns}.${label}`,
      job_type: jobType,
      job_status: 'waiting',
      job_stage: null,
      work_estimate: null,
      work_completed: null,
      error: null,
      checked_data_type: (details['checked-data-type'] as string | undefined) ?? null,
      created_at: at,
      updated_at: at,
      done_at: null,
      invalid_unique_value: null,
      invalid_triples_sample: null,
      error_data: null,
    };
    this.rows.set(row['id'] as string, row);
    void this.run(app, row, ns, label);
    return { ...row };
  }

  private async run(app: SandboxApp, row: Record<string, Json>, ns: string, label: string): Promise<void> {
    await this.delay(0);
    this.update(row, { job_status: 'processing' });
    await this.delay(JOB_MS);
    const attr = app.catalog.blob(ns, label);
    if (!attr) return this.update(row, { job_status: 'errored', error: 'invalid-attr-state-error' });
    const changed = withJob(attr, row['job_type'] as string, row['checked_data_type'] as string | null);
    const problem = dataProblem(app, changed);
    if (problem) return this.update(row, { job_status: 'errored', ...problem });
    app.catalog.replaceBlob(changed);
    app.store.rebuildIndex(changed);
    this.update(row, { job_status: 'completed', done_at: new Date(this.now()).toISOString() });
  }

  private update(row: Record<string, Json>, patch: Record<string, Json>): void {
    Object.assign(row, patch, { updated_at: new Date(this.now()).toISOString() });
  }
}

function withJob(attr: BlobAttr, jobType: string, checkedType: string | null): BlobAttr {
  switch (jobType) {
    case 'index':
    case 'remove-index':
      return { ...attr, indexed: jobType === 'index' };
    case 'unique':
    case 'remove-unique':
      return { ...attr, unique: jobType === 'unique' };
    case 'required':
    case 'remove-required':
      return { ...attr, required: jobType === 'required' };
    default:
      return { ...attr, checkedType: (checkedType as BlobAttr['checkedType']) ?? null };
  }
}

/** Why the stored data does not allow `attr` (the errors the server's jobs report), or null. */
function dataProblem(app: SandboxApp, attr: BlobAttr): Record<string, Json> | null {
  const seen = new Set<string>();
  for (const entity of app.store.table(attr.ns)?.entities.values() ?? []) {
    if (!entity.alive) continue;
    const value = entity.attrs[attr.label];
    if (attr.required && (value === undefined || value === null))
      return { error: 'missing-required-error', error_data: { 'entity-ids': [entity.id] } };
    if (value === undefined || value === null) continue;
    if (attr.checkedType && !valueHasType(attr.checkedType, value)) return { error: 'invalid-triple-error' };
    const key = JSON.stringify(value);
    if (attr.unique && seen.has(key)) return { error: 'triple-not-unique-error', invalid_unique_value: value as Json };
    seen.add(key);
  }
  return null;
}

function namespacesOf(catalog: AttrCatalog): string[] {
  return Object.keys(catalog.toApiSchema().blobs);
}

function blobJson(attr: BlobAttr): Record<string, Json> {
  return {
    'value-type': 'blob',
    cardinality: 'one',
    id: attr.id,
    'forward-identity': [attr.identId, attr.ns, attr.label],
    'unique?': attr.unique,
    'index?': attr.indexed,
    'required?': attr.required,
    ...(attr.checkedType ? { 'checked-data-type': attr.checkedType } : {}),
  };
}
