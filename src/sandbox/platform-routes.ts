/**
 * The Platform API's app routes (protocol doc §9): create, list, get, delete (soft), plus the
 * per-app `schema` and `perms` reads `PlatformApi.getApp` makes with include flags; the
 * dashboard's create with a chosen id (`POST /dash/apps`); the organisation's listing. Creates go
 * through the fault injector; lists, gets and deletes never fail on purpose.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxApp } from './apps.js';
import { authPlatform, authPlatformApp } from './auth.js';
import type { SandboxContext } from './context.js';
import {
  paramMalformed,
  paramMissing,
  recordExists,
  recordNotFound,
  SandboxHttpError,
  unknownServerError,
  validationFailed,
  type Json,
} from './errors.js';
import { rulesValidationErrors } from './rules.js';
import { canonicalJson } from '../core/canonical-json.js';
import { readJson, sendJson, sendJsonText, type Router } from './http.js';
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
    const fields = asFields(await readJson(req));
    const title = requireTitle(fields);
    const orgId = orgOf(ctx, fields);
    // The server checks the rules before the app exists: a bad rule leaves nothing behind.
    const perms = validRules(fields['perms'] ?? null, 'perms');
    await serveCreate(ctx, req, res, fields['schema'], (schema) =>
      ctx.apps.createThenApplySchema({ title, schema, perms, orgId, via: 'platform' }),
    );
  });

  // The dashboard's create (dash/routes.clj apps-post), which instant-cli uses: the caller chooses the
  // id and admin token. Checked in the server's order: token, sign-ups, then parameters.
  router.add('POST', '/dash/apps', async ({ req, res }) => {
    authPlatform(req, ctx.platformToken);
    ctx.counters.createRequests++;
    const fields = asFields(await readJson(req));
    if (ctx.mode.cloud) {
      ctx.faults.count('signupsClosed');
      throw appCreationDisabled();
    }
    const title = requireTitle(fields);
    const id = requireUuid(fields, 'id');
    const adminToken = requireUuid(fields, 'admin_token');
    const orgId = orgOf(ctx, fields);
    const rules = fields['rules'];
    const code = typeof rules === 'object' && rules !== null ? (rules as Record<string, unknown>)['code'] : undefined;
    const perms = validRules(code ?? null, 'rule');
    await serveCreate(ctx, req, res, fields['schema'], (schema) => {
      // The apps table's primary key, and the admin tokens' (deleted apps keep their rows).
      if (ctx.apps.idTaken(id)) throw recordExists('apps');
      if (ctx.apps.tokenTaken(adminToken)) throw recordExists('app-admin-tokens');
      return ctx.apps.createThenApplySchema({ id, adminToken, title, schema, perms, orgId, via: 'platform' });
    });
  });

  router.add('GET', '/superadmin/orgs', ({ req, res }) => {
    authPlatform(req, ctx.platformToken);
    const { org } = ctx.apps;
    sendJson(res, { orgs: [{ id: org.id, title: org.title, role: 'owner' }] });
  });

  router.add('GET', '/superadmin/orgs/:org_id/apps', ({ req, res, params }) => {
    authPlatform(req, ctx.platformToken);
    ctx.counters.lists++;
    if (normalizeUuid(params['org_id']) !== ctx.apps.org.id)
      throw recordNotFound('org', { args: [{ id: params['org_id'] ?? null }] });
    sendJson(res, { apps: ctx.apps.orgListing() });
  });

  router.add('GET', '/superadmin/apps', ({ req, res, url }) => {
    authPlatform(req, ctx.platformToken);
    const include = new Set((url.searchParams.get('include') ?? '').split(','));
    ctx.counters.lists++;
    if (!include.has('perms') && !include.has('schema')) return sendJsonText(res, ctx.apps.listingJson());
    const apps = ctx.apps
      .all()
      .filter((app) => app.deletedAtMs === null)
      .map((app) => ({
        ...ctx.apps.row(app),
        ...(include.has('perms') ? { perms: app.perms } : {}),
        ...(include.has('schema') ? { schema: app.catalog.toApiSchema() } : {}),
      }));
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

  router.add('POST', '/superadmin/apps/:id/perms', async ({ req, res, params }) => {
    const app = authPlatformApp(req, ctx.platformToken, ctx.apps, params['id']!);
    refusePushIfRateLimited(ctx);
    const body = await readJson(req);
    const code = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['code'] : undefined;
    if (code === undefined || code === null || code === false) throw paramMissing(['body', 'code']);
    const errors = rulesValidationErrors(code);
    if (errors.length > 0) throw validationFailed('rule', code as Json, errors);
    sendJson(res, { rules: storeRules(app, code as Json) });
  });

  // app-update-post: a rename (title required, non-blank); the server answers the UPDATE's row count.
  router.add('POST', '/superadmin/apps/:id', async ({ req, res, params }) => {
    const app = authPlatformApp(req, ctx.platformToken, ctx.apps, params['id']!);
    const title = requireTitle(asFields(await readJson(req)));
    ctx.apps.rename(app, title);
    sendJson(res, { app: { 'next.jdbc/update-count': 1 } });
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

/**
 * The part both create routes share once their parameters are read: the create latency, one draw of
 * the fault dice, then `create` (which writes the app row, then applies `schema`; a schema that fails
 * leaves the app behind, as on the server), answered as the dice say.
 */
async function serveCreate(
  ctx: SandboxContext,
  req: IncomingMessage,
  res: ServerResponse,
  schema: unknown,
  create: (schema: unknown) => { app: SandboxApp; schemaError: SandboxHttpError | null },
): Promise<void> {
  const delay = ctx.faults.createDelayMs();
  if (delay > 0) {
    ctx.faults.count('createDelayed');
    const release = ctx.hold(res);
    await ctx.delay(delay);
    release();
  }
  const outcome = ctx.faults.decideCreate();
  if (outcome !== 'ok') ctx.faults.count(outcome);
  const made = () => {
    const { app, schemaError } = create(schema);
    ctx.counters.creates++;
    if (schemaError) throw schemaError;
    const injected = schema ? ctx.faults.decideSchemaFail() : null;
    if (injected !== null) {
      ctx.faults.count('schemaFail');
      throw injected === 400 ? injectedSchemaRefusal() : unknownServerError();
    }
    return app;
  };
  switch (outcome) {
    case 'windDown':
      throw appCreationDisabled();
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
      throw new SandboxHttpError(429, { type: 'rate-limited', message: 'Your request exceeded the rate limit.', hint });
    }
    case 'createHang':
      ctx.hold(res);
      return; // never answered; the socket closes when the client gives up or the sandbox closes
    case 'createLost':
      made();
      req.socket.destroy();
      return;
    case 'createMalformed':
      throw new SandboxHttpError(502, BAD_GATEWAY_HTML, {}, 'text/html');
    case 'createMissingToken':
      sendJson(res, { app: createdRow(ctx, made(), false) });
      return;
    case 'ok':
      sendJson(res, { app: createdRow(ctx, made(), true) });
  }
}

function asFields(body: unknown): Record<string, unknown> {
  return (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
}

/** `title`: required, a non-blank string (string-util/coerce-non-blank-str). */
function requireTitle(fields: Record<string, unknown>): string {
  const title = fields['title'];
  if (title === undefined || title === null || title === false) throw paramMissing(['body', 'title']);
  if (typeof title !== 'string' || title.trim() === '') throw paramMalformed(['body', 'title'], title as Json);
  return title.trim();
}

/** A required UUID body parameter (`id`, `admin_token`), lower-cased as the server coerces it. */
function requireUuid(fields: Record<string, unknown>, key: string): string {
  const raw = fields[key];
  if (raw === undefined || raw === null || raw === false) throw paramMissing(['body', key]);
  const id = normalizeUuid(raw);
  if (!id) throw paramMalformed(['body', key], raw as Json);
  return id;
}

/** `org_id`: absent, or the sandbox's one organisation (its user is admin there, and of no other). */
function orgOf(ctx: SandboxContext, fields: Record<string, unknown>): string | null {
  const raw = fields['org_id'];
  if (raw === undefined || raw === null) return null;
  const id = normalizeUuid(raw);
  if (!id) throw paramMalformed(['body', 'org_id'], raw as Json);
  if (id !== ctx.apps.org.id) throw recordNotFound('org', { args: [{ id }] });
  return id;
}

/** Rules as the server checks them before the app exists; a bad rule is validation-failed (data type `dataType`). */
function validRules(rules: unknown, dataType: string): Json {
  if (rules === null) return null;
  const errors = rulesValidationErrors(rules);
  if (errors.length > 0) throw validationFailed(dataType, rules as Json, errors);
  return rules as Json;
}

function appCreationDisabled(): SandboxHttpError {
  return new SandboxHttpError(400, { type: 'app-creation-disabled', message: WIND_DOWN, hint: { sunset: true } });
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

/**
 * The `rules` row the server's upsert returns: `{app_id, code, version}`. Its upsert only writes
 * when the code differs (`WHERE rules.code IS DISTINCT FROM excluded.code`), and returns no row
 * otherwise, so an unchanged push answers `{"rules": null}`.
 */
function storeRules(app: SandboxApp, code: Json): Json {
  // jsonb comparison: key order does not matter.
  if (app.perms !== null && canonicalJson(app.perms) === canonicalJson(code)) return null;
  app.perms = code;
  app.rulesVersion = app.rulesVersion === null ? 0 : app.rulesVersion + 1;
  return { app_id: app.id, code, version: app.rulesVersion };
}

/** What a schema the server's plan refuses looks like (schema-model plan-errors). */
function injectedSchemaRefusal(): SandboxHttpError {
  return validationFailed('schema', 'plan', [
    { in: ['schema'], message: 'sandbox: injected schema failure (pSchemaFail)' },
  ]);
}

/** The `pPush429` fault: a template push request refused as rate-limited, changing nothing. */
export function refusePushIfRateLimited(ctx: SandboxContext): void {
  if (!ctx.faults.decidePush429()) return;
  ctx.faults.count('push429');
  const seconds = ctx.faults.get().retryAfter;
  throw new SandboxHttpError(429, { type: 'rate-limited', message: RATE_LIMITED }, { 'retry-after': String(seconds) });
}
