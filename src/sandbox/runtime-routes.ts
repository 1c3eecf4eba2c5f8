/**
 * The browser's auth routes (runtime/routes.clj), which `@instantdb/core`'s `db.auth` calls with
 * `fetch` from the page's origin, so every answer carries CORS headers and a preflight
 * (`OPTIONS`) is answered:
 *
 *   POST /runtime/auth/verify_refresh_token {app-id, refresh-token} → {user}   (signInWithToken)
 *   POST /runtime/auth/sign_in_guest        {app-id}                → {user}   (signInAsGuest)
 *   POST /runtime/signout                   {app_id, refresh_token} → {}       (signOut)
 *
 * `user` is the `$users` row plus its `refresh_token`. A guest is a real `$users` row with
 * `type: guest`, made only if the app's `$users.allow.create` rule (alone, as the server looks it
 * up) lets it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxApp } from './apps.js';
import type { AppUser } from './app-users.js';
import type { SandboxContext } from './context.js';
import { paramMalformed, paramMissing, permissionDenied, recordNotFound, type Json } from './errors.js';
import { readJson, sendJson, type Router } from './http.js';
import { RuleData } from './rules/rule-data.js';
import { rulesFor } from './rules/program.js';
import { normalizeUuid } from './uuid.js';

const PATHS = ['/runtime/auth/verify_refresh_token', '/runtime/auth/sign_in_guest', '/runtime/signout'] as const;

/** Registers the runtime auth routes and their CORS preflights on `router`. */
export function addRuntimeRoutes(router: Router, ctx: SandboxContext): void {
  for (const path of PATHS) {
    router.add('OPTIONS', path, ({ req, res }) => {
      res.writeHead(204, {
        ...CORS,
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': req.headers['access-control-request-headers'] ?? 'content-type',
        'access-control-max-age': '600',
      });
      res.end();
    });
  }

  router.add('POST', '/runtime/auth/verify_refresh_token', async ({ req, res }) => {
    const body = await corsBody(req, res);
    const app = ctx.apps.live(uuidParam(body, 'app-id'));
    const token = uuidParam(body, 'refresh-token');
    const user = app?.users.byRefreshToken(token);
    if (!app || !user) throw recordNotFound('app-user', { args: [{ 'app-id': app?.id ?? null }] });
    sendJson(res, { user: userJson(app, user, token) });
  });

  router.add('POST', '/runtime/auth/sign_in_guest', async ({ req, res }) => {
    const body = await corsBody(req, res);
    const appId = uuidParam(body, 'app-id');
    const app = ctx.apps.live(appId);
    if (!app) throw recordNotFound('app', { args: [{ id: appId }] });
    const id = ctx.newId();
    assertSignupAllowed(app, id);
    const { user, token, changes } = app.users.signInGuest(id);
    ctx.live.notify(app, changes, ctx.nextTxId());
    sendJson(res, { user: userJson(app, user, token) });
  });

  router.add('POST', '/runtime/signout', async ({ req, res }) => {
    const body = await corsBody(req, res);
    const app = ctx.apps.live(uuidParam(body, 'app_id'));
    app?.users.revoke(uuidParam(body, 'refresh_token'));
    sendJson(res, {});
  });
}

const CORS = { 'access-control-allow-origin': '*' };

/** Sets the CORS header first (so errors carry it too), then reads the JSON body. */
async function corsBody(req: IncomingMessage, res: ServerResponse): Promise<Record<string, unknown>> {
  for (const [name, value] of Object.entries(CORS)) res.setHeader(name, value);
  const body = await readJson(req);
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

function uuidParam(body: Record<string, unknown>, key: string): string {
  const raw = body[key];
  if (raw === undefined || raw === null) throw paramMissing(['body', key]);
  const id = normalizeUuid(raw);
  if (!id) throw paramMalformed(['body', key], raw as Json);
  return id;
}

/** The `$users.allow.create` rule, run on the new user as the server does for a sign-up. */
function assertSignupAllowed(app: SandboxApp, id: string): void {
  const program = rulesFor(app.perms).signupProgram();
  if (!program) return;
  const data = new RuleData(app);
  const user = data.map('$users', { id });
  if (!program.passes({ auth: user, data: user, newData: user }, data.refs)) throw permissionDenied('$users', 'object');
}

function userJson(app: SandboxApp, user: AppUser, token: string): Record<string, Json> {
  return {
    id: user.id,
    app_id: app.id,
    email: user.email,
    ...(user.type ? { type: user.type } : {}),
    refresh_token: token,
  };
}
