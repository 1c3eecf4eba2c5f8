/**
 * The Platform API's app routes (protocol doc §9): create, list, get, delete (soft), plus the
 * per-app `schema` and `perms` reads `PlatformApi.getApp` makes with include flags. Creates go
 * through the fault injector; lists, gets and deletes never fail on purpose.
 */
import type { SandboxApp } from './apps.js';
import { authPlatform, authPlatformApp } from './auth.js';
import type { SandboxContext } from './context.js';
import {
  paramMalformed,
  paramMissing,
  recordNotFound,
  SandboxHttpError,
  unknownServerError,
  type Json,
} from './errors.js';
import { readJson, sendJson, type Router } from './http.js';
import { normalizeUuid } from './uuid.js';

const RATE_LIMITED =
  "You're making too many requests. Please email support@instantdb.com or ask for help in the Discord.";
const WIND_DOWN =
  "Instant is winding down and isn't accepting new apps. Check instantdb.com for what's next and how to migrate.";
const BAD_GATEWAY_HTML =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n';

/** Registers the Platform API app routes on `router`. */
export function addPlatformRoutes(router: Router, ctx: SandboxContext): void {
  router.add('POST', '/superadmin/apps', async ({ req, res }) => {
    authPlatform(req, ctx.platformToken);
    ctx.counters.createRequests++;
    const body = await readJson(req);
    const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const title = fields['title'];
    if (title === undefined || title === null || title === false) throw paramMissing(['body', 'title']);
    if (typeof title !== 'string' || title.trim() === '') throw paramMalformed(['body', 'title'], title as Json);
    if (fields['org_id'] !== undefined && fields['org_id'] !== null) {
      throw recordNotFound('org', { args: [{ id: fields['org_id'] as Json }] }); // the sandbox user has no orgs
    }
    const delay = ctx.faults.createDelayMs();
    if (delay > 0) {
      ctx.faults.count('createDelayed');
      await ctx.delay(delay);
    }
    const outcome = ctx.faults.decideCreate();
    if (outcome !== 'ok') ctx.faults.count(outcome);
    const create = () => {
      const app = ctx.apps.create({
        title: title.trim(),
        schema: fields['schema'],
        perms: fields['perms'],
        via: 'platform',
      });
      ctx.counters.creates++;
      return app;
    };
    switch (outcome) {
      case 'windDown':
        throw new SandboxHttpError(400, { type: 'app-creation-disabled', message: WIND_DOWN, hint: { sunset: true } });
      case 'create500':
        throw unknownServerError();
      case 'create429':
        throw new SandboxHttpError(
          429,
          { type: 'rate-limited', message: RATE_LIMITED },
          { 'retry-after': String(ctx.faults.get().retryAfter) },
        );
      case 'create429Hint': {
        const seconds = ctx.faults.get().retryAfter;
        const hint = { 'retry-at': new Date(Date.now() + seconds * 1000).toISOString(), 'retry-after': seconds };
        throw new SandboxHttpError(429, {
          type: 'rate-limited',
          message: 'Your request exceeded the rate limit.',
          hint,
        });
      }
      case 'createHang':
        return; // never answered; the socket closes when the client gives up or the sandbox closes
      case 'createLost':
        create();
        req.socket.destroy();
        return;
      case 'createMalformed':
        throw new SandboxHttpError(502, BAD_GATEWAY_HTML, {}, 'text/html');
      case 'createMissingToken':
        sendJson(res, { app: createdRow(ctx, create(), false) });
        return;
      case 'ok':
        sendJson(res, { app: createdRow(ctx, create(), true) });
    }
  });

  router.add('GET', '/superadmin/apps', ({ req, res, url }) => {
    authPlatform(req, ctx.platformToken);
    const include = new Set((url.searchParams.get('include') ?? '').split(','));
    const apps = ctx.apps
      .all()
      .filter((app) => app.deletedAtMs === null)
      .map((app) => ({
        ...ctx.apps.row(app),
        ...(include.has('perms') ? { perms: app.perms } : {}),
        ...(include.has('schema') ? { schema: app.catalog.toApiSchema() } : {}),
      }));
    ctx.counters.lists++;
    sendJson(res, { apps });
  });

  router.add('GET', '/superadmin/apps/:id', ({ req, res, params }) => {
    const app = authPlatformApp(req, ctx.platformToken, ctx.apps, params['id']!);
    ctx.counters.gets++;
    sendJson(res, { app: ctx.apps.row(app) });
  });

  router.add('GET', '/superadmin/apps/:id/schema', ({ req, res, params }) => {
    const app = authPlatformApp(req, ctx.platformToken, ctx.apps, params['id']!);
    sendJson(res, { schema: app.catalog.toApiSchema() });
  });

  router.add('GET', '/superadmin/apps/:id/perms', ({ req, res, params }) => {
    const app = authPlatformApp(req, ctx.platformToken, ctx.apps, params['id']!);
    sendJson(res, { perms: app.perms });
  });

  router.add('DELETE', '/superadmin/apps/:id', ({ req, res, params }) => {
    authPlatform(req, ctx.platformToken);
    const id = normalizeUuid(params['id']);
    if (!id) throw paramMalformed(['params', 'app_id'], params['id'] ?? null);
    const app = ctx.apps.live(id);
    if (!app) throw recordNotFound('app', { args: [{ id }] });
    ctx.apps.markDeleted(app);
    ctx.counters.deletes++;
    sendJson(res, { app: ctx.apps.row(app) });
  });
}

/** The create response's app: the row plus admin token (unless faulted away), perms and attribute catalogue. */
function createdRow(ctx: SandboxContext, app: SandboxApp, withToken: boolean): Record<string, Json> {
  return {
    ...ctx.apps.row(app),
    ...(withToken ? { 'admin-token': app.adminToken } : {}),
    perms: app.perms,
    schema: app.catalog.toApiSchema(),
  };
}
