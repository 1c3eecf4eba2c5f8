/**
 * The sandbox's own endpoints under `/__sandbox/` (not part of InstantDB): fault control,
 * inspection and seeding. All require `Authorization: Bearer <platformToken>`.
 *
 * - `GET|POST|DELETE /__sandbox/faults`: read, patch or reset the fault configuration.
 * - `GET /__sandbox/apps[?tokens=1]`: every app ever created, deleted ones included.
 * - `POST /__sandbox/apps/seed` with `{"titles": ["swift-teal-river", …], "createdAt": <epoch ms
 *   or ISO-8601>}`: creates one platform app per title, created at that time, at once (no create
 *   latency, no faults, not counted as creates), and answers `{"apps": [{id, title, adminToken}]}`
 *   in the same order. An account that already has N apps, for the benchmark: 100,000 take about
 *   a second, and an app's store is only built if something opens it.
 * - `POST /__sandbox/apps/:id/seed-entities` with `{"entities": {"posts": 100000}, "links":
 *   {"posts.author": 1}}`: adds that many entities (every attribute of the schema filled in) and
 *   links to the app at once, without transactions; answers what it added (see seed-entities.ts).
 *   A million entities take a few seconds.
 * - `GET /__sandbox/stats`: request counters.
 * - `GET|POST /__sandbox/mode`: `{"cloud": true|false}`, whether chosen-id creates are refused as on Instant Cloud.
 */
import { authPlatform } from './auth.js';
import type { SandboxContext } from './context.js';
import { SandboxHttpError } from './errors.js';
import { readJson, sendJson, type Router } from './http.js';
import { seedEntities, type SeedSpec } from './seed-entities.js';
import { recordNotFound } from './errors.js';
import { normalizeUuid } from './uuid.js';
import type { SandboxStats } from './stats.js';

/** Registers the `/__sandbox/*` routes on `router`. */
export function addControlRoutes(router: Router, ctx: SandboxContext, stats: () => SandboxStats): void {
  router.add('GET', '/__sandbox/faults', ({ req, res }) => {
    authPlatform(req, ctx.platformToken);
    sendJson(res, ctx.faults.get());
  });

  router.add('POST', '/__sandbox/faults', async ({ req, res }) => {
    authPlatform(req, ctx.platformToken);
    const patch = await readJson(req);
    try {
      ctx.faults.set(patch as never);
    } catch (error) {
      throw new SandboxHttpError(400, { type: 'validation-failed', message: (error as Error).message });
    }
    sendJson(res, ctx.faults.get());
  });

  router.add('DELETE', '/__sandbox/faults', ({ req, res }) => {
    authPlatform(req, ctx.platformToken);
    ctx.faults.reset();
    sendJson(res, ctx.faults.get());
  });

  // `?tokens=1` adds each app's admin token: what a log audit must look for, orphans included.
  router.add('GET', '/__sandbox/apps', ({ req, res, url }) => {
    authPlatform(req, ctx.platformToken);
    const withTokens = url.searchParams.get('tokens') === '1';
    const apps = ctx.apps
      .all()
      .map((app) => (withTokens ? { ...ctx.apps.info(app), adminToken: app.adminToken } : ctx.apps.info(app)));
    sendJson(res, { apps });
  });

  router.add('POST', '/__sandbox/apps/seed', async ({ req, res }) => {
    authPlatform(req, ctx.platformToken);
    const { titles, createdAtMs } = readSeed(await readJson(req));
    const apps = ctx.apps.seed(titles.map((title) => ({ title, createdAtMs })));
    sendJson(res, { apps: apps.map((app) => ({ id: app.id, title: app.title, adminToken: app.adminToken })) });
  });

  router.add('GET', '/__sandbox/mode', ({ req, res }) => {
    authPlatform(req, ctx.platformToken);
    sendJson(res, ctx.mode);
  });

  router.add('POST', '/__sandbox/mode', async ({ req, res }) => {
    authPlatform(req, ctx.platformToken);
    const body = (await readJson(req)) as { cloud?: unknown } | null;
    if (typeof body?.cloud !== 'boolean')
      throw new SandboxHttpError(400, { type: 'validation-failed', message: 'cloud must be true or false' });
    ctx.mode.cloud = body.cloud;
    sendJson(res, ctx.mode);
  });

  router.add('POST', '/__sandbox/apps/:id/seed-entities', async ({ req, res, params }) => {
    authPlatform(req, ctx.platformToken);
    const id = normalizeUuid(params['id']);
    const app = id === null ? undefined : ctx.apps.live(id);
    if (!app) throw recordNotFound('app', { args: [{ id: params['id'] ?? null }] });
    sendJson(res, seedEntities(app, (await readJson(req)) as SeedSpec, ctx.newId) as never);
  });

  router.add('GET', '/__sandbox/stats', ({ req, res }) => {
    authPlatform(req, ctx.platformToken);
    sendJson(res, stats());
  });
}

/** The body of `POST /__sandbox/apps/seed`, or a 400 naming what is wrong. */
function readSeed(body: unknown): { titles: string[]; createdAtMs: number } {
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const { titles, createdAt } = fields;
  const invalid = (message: string) => new SandboxHttpError(400, { type: 'validation-failed', message });
  if (!Array.isArray(titles) || !titles.every((title) => typeof title === 'string' && title.trim() !== ''))
    throw invalid('titles must be an array of non-empty strings');
  const createdAtMs = typeof createdAt === 'string' ? Date.parse(createdAt) : createdAt;
  if (typeof createdAtMs !== 'number' || !Number.isFinite(createdAtMs))
    throw invalid('createdAt must be epoch ms or an ISO-8601 time');
  return { titles: titles.map((title: string) => title.trim()), createdAtMs };
}
