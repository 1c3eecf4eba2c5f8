/**
 * The sandbox's own endpoints under `/__sandbox/` (not part of InstantDB): fault control and
 * inspection. All require `Authorization: Bearer <platformToken>`.
 */
import { authPlatform } from './auth.js';
import type { SandboxContext } from './context.js';
import { SandboxHttpError } from './errors.js';
import { readJson, sendJson, type Router } from './http.js';
import type { SandboxStats } from './stats.js';

/** Registers `/__sandbox/faults`, `/__sandbox/apps` and `/__sandbox/stats` on `router`. */
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

  router.add('GET', '/__sandbox/stats', ({ req, res }) => {
    authPlatform(req, ctx.platformToken);
    sendJson(res, stats());
  });
}
