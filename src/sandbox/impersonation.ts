/**
 * `db.asUser(...)` on the admin routes (admin/routes.clj › get-perms!): `as-token` and
 * `as-guest` need only the app id (no admin token, as on the server); `as-email` needs the admin
 * token too. Without these headers the request is an admin request and bypasses the rules.
 */
import type { IncomingMessage } from 'node:http';
import type { SandboxApp } from './apps.js';
import { authAdmin, requestAppId } from './auth.js';
import type { SandboxContext } from './context.js';
import { paramMalformed, recordNotFound } from './errors.js';
import type { Reader } from './rules/query-filter.js';
import { normalizeUuid } from './uuid.js';

/** The app a request addresses, and its reader when rules apply (undefined: admin, no rules). */
export function authAsUser(req: IncomingMessage, url: URL, ctx: SandboxContext): { app: SandboxApp; reader?: Reader } {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const asToken = header('as-token');
  const asEmail = header('as-email');
  const asGuest = header('as-guest');
  if (asToken !== undefined) {
    const app = liveApp(ctx, requestAppId(req, url));
    const token = normalizeUuid(asToken);
    if (!token) throw paramMalformed(['asUser', 'token'], asToken);
    const user = app.users.byRefreshToken(token);
    if (!user) throw recordNotFound('app-user', { args: [{ 'app-id': app.id, 'refresh-token': token }] });
    return { app, reader: { user } };
  }
  if (asEmail !== undefined) {
    const app = authAdmin(req, url, ctx.platformToken, ctx.apps);
    const user = app.users.byEmail(asEmail);
    if (!user) throw recordNotFound('app-user', { args: [{ 'app-id': app.id, email: asEmail }] });
    return { app, reader: { user } };
  }
  if (asGuest !== undefined) return { app: liveApp(ctx, requestAppId(req, url)), reader: { user: null } };
  return { app: authAdmin(req, url, ctx.platformToken, ctx.apps) };
}

function liveApp(ctx: SandboxContext, appId: string): SandboxApp {
  const app = ctx.apps.live(appId);
  if (!app) throw recordNotFound('app', { args: [{ id: appId }] });
  return app;
}
