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

/** GET /superadmin/apps: not paginated, no admin tokens. */
export const listAppsResponse = z.object({
  apps: z.array(
    z.object({
      id: z.string().min(1),
      title: z.string(),
      created_at: timestamp,
    }),
  ),
});
