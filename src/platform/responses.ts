/** What we need from Platform API answers, checked with zod. Extra fields are ignored. */
import { z } from 'zod';

const timestamp = z
  .union([z.string(), z.number()])
  .transform((value) => (typeof value === 'number' ? value : Date.parse(value)))
  .refine((ms) => Number.isFinite(ms), 'not a timestamp');

/** POST /superadmin/apps: the app is wrapped, and this is the only place its admin token appears. */
export const createAppResponse = z.object({
  app: z.object({
    id: z.string().min(1),
    'admin-token': z.string().min(1),
  }),
});

/** GET /superadmin/apps/:id, and POST /dash/apps: the app row (no admin token). */
export const appResponse = z.object({
  app: z.object({ id: z.string().min(1), title: z.string(), created_at: timestamp }),
});

/** One app row of GET /superadmin/apps (not paginated, no admin tokens): what a lookup needs of it. */
export const listedAppRow = z.object({
  id: z.string().min(1),
  title: z.string(),
  created_at: timestamp,
});

/** A schema push step as the server prints it: `[action, {forward-identity: [id, ns, label], …}]`. */
const pushStep = z
  .tuple([z.string(), z.record(z.string(), z.unknown())])
  .rest(z.unknown())
  .transform(([action, details]) => ({ action, target: stepTarget(details) }));

function stepTarget(details: Record<string, unknown>): string {
  const identity = details['forward-identity'];
  if (Array.isArray(identity) && identity.length >= 3) return `${String(identity[1])}.${String(identity[2])}`;
  return typeof details['attr-id'] === 'string' ? details['attr-id'] : '?';
}

const indexingJob = z
  .object({
    id: z.string().min(1),
    job_status: z.string(),
    job_type: z.string().nullish(),
    attr_name: z.string().nullish(),
    error: z.string().nullish(),
  })
  .transform((job) => ({
    id: job.id,
    status: job.job_status,
    target: job.attr_name ?? job.job_type ?? '?',
    error: job.error ?? null,
  }));

/** POST /superadmin/apps/:id/schema/push/plan. */
export const schemaPlanResponse = z.object({ steps: z.array(pushStep) });

/** POST /superadmin/apps/:id/schema/push/apply: the plan, plus the indexing jobs it started. */
export const schemaApplyResponse = z.object({
  steps: z.array(pushStep),
  'indexing-jobs': z.object({ 'group-id': z.string().min(1), jobs: z.array(indexingJob) }).nullish(),
});

/** GET /dash/apps/:id/indexing-jobs/group/:groupId. */
export const indexingJobsResponse = z.object({ jobs: z.array(indexingJob) });

/** GET /superadmin/apps/:id/perms. */
export const permsResponse = z.object({ perms: z.record(z.string(), z.unknown()).nullable() });

/** POST /superadmin/apps/:id/perms. */
// `rules: null` when the rules were already these: the server writes nothing and says so.
export const permsPushResponse = z.object({ rules: z.object({}).loose().nullable() });
