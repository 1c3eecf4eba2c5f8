/**
 * Token checks, answered exactly as the real server answers them (protocol doc §3, §8, §9.5):
 * every failure is HTTP 400. The sandbox has one platform user, whose personal access token is
 * the sandbox's platform token; it owns every app.
 */
import type { IncomingMessage } from 'node:http';
import type { AppRegistry, SandboxApp } from './apps.js';
import { paramMalformed, paramMissing, recordNotFound, validationFailedRaw, type SandboxHttpError } from './errors.js';
import { bearerToken } from './http.js';
import { normalizeUuid } from './uuid.js';

type TokenKind = 'personal' | 'oauth' | 'uuid' | 'jwt' | 'malformed';

function classify(token: string): TokenKind {
  if (token.startsWith('pat_')) return 'oauth';
  if (token.startsWith('per_')) return 'personal';
  if (token.startsWith('eyJ')) return 'jwt';
  return normalizeUuid(token) ? 'uuid' : 'malformed';
}

function requireBearer(req: IncomingMessage): { token: string; kind: TokenKind } {
  const token = bearerToken(req);
  if (token === undefined) throw paramMissing(['headers', 'authorization']);
  const kind = classify(token);
  if (kind === 'malformed') throw paramMalformed(['headers', 'authorization'], req.headers['authorization'] ?? '');
  return { token, kind };
}

/** The error for a platform token that is not the sandbox user's. */
function unknownPlatformUser(kind: TokenKind): SandboxHttpError {
  return kind === 'oauth' ? recordNotFound('oauth-access-token') : recordNotFound('instant-user');
}

/** Authenticates a `/superadmin/*` (or `/__sandbox/*`) request by the platform token. */
export function authPlatform(req: IncomingMessage, platformToken: string): void {
  const { token, kind } = requireBearer(req);
  if (kind !== 'personal' || token !== platformToken) throw unknownPlatformUser(kind);
}

/**
 * Authenticates a per-app platform route (`GET /superadmin/apps/:id`): the platform token, or
 * that app's own admin token. Returns the live app, or throws record-not-found `app`.
 */
export function authPlatformApp(
  req: IncomingMessage,
  platformToken: string,
  apps: AppRegistry,
  rawId: string,
): SandboxApp {
  const { token, kind } = requireBearer(req);
  const id = normalizeUuid(rawId);
  if (kind === 'uuid') {
    const owner = apps.byAdminToken(token.toLowerCase());
    if (!owner) throw recordNotFound('token');
    if (owner.id !== id) {
      const message = `This admin token does not belong to app ${rawId}. Admin tokens are bound to a single app. Use a personal access token to manage other apps.`;
      throw validationFailedRaw(message, { reason: 'admin-token-mismatch' });
    }
    return owner;
  }
  if (kind !== 'personal' || token !== platformToken) throw unknownPlatformUser(kind);
  if (!id) throw paramMalformed(['params', 'app_id'], rawId);
  const app = apps.live(id);
  if (!app) throw recordNotFound('app', { args: [{ id }] });
  return app;
}

/**
 * Authenticates an `/admin/*` request: app id from the `app-id` header, else the `app_id` query
 * parameter; bearer = that app's admin token (or the platform token, whose user created every app).
 */
export function authAdmin(req: IncomingMessage, url: URL, platformToken: string, apps: AppRegistry): SandboxApp {
  const appId = requestAppId(req, url);
  const { token, kind } = requireBearer(req);
  if (kind === 'uuid') {
    const app = apps.live(appId);
    if (!app || app.adminToken !== token.toLowerCase()) {
      throw recordNotFound('app-admin-token', {
        args: [{ 'app-id': appId, token }],
        message: 'This admin token may be expired or invalid. Or you may have provided an incorrect app ID.',
      });
    }
    return app;
  }
  if (kind !== 'personal' || token !== platformToken) throw unknownPlatformUser(kind);
  const app = apps.live(appId);
  if (!app) throw recordNotFound('app', { args: [{ id: appId }] });
  return app;
}

/** The app id of an `/admin/*` request, not yet authenticated: header `app-id`, else `app_id`. */
export function requestAppId(req: IncomingMessage, url: URL): string {
  const possibleIns = [['query-params', 'app_id']];
  const header = req.headers['app-id'];
  const query = url.searchParams.get('app_id');
  const raw = typeof header === 'string' && header !== '' ? header : query;
  if (raw === null || raw === '') throw paramMissing(['headers', 'app-id'], possibleIns);
  const appId = normalizeUuid(raw.trim());
  if (!appId) {
    const path = raw === header ? ['headers', 'app-id'] : ['query-params', 'app_id'];
    throw paramMalformed(path, raw, possibleIns);
  }
  return appId;
}
