/**
 * `init` (session.clj › handle-init!): names the app, the user (`refresh-token`) or admin
 * (`__admin-token`), and the client's versions; answers `init-ok` with the session id, the auth,
 * the app's attrs and its status. An unknown refresh token is record-not-found `app-user`, on
 * which the client signs out and reconnects as a guest.
 */
import { paramMalformed, paramMissing, recordNotFound, validationFailed, type Json } from '../errors.js';
import { normalizeUuid } from '../uuid.js';
import { attrsJson } from './attrs.js';
import { clientFeatures } from './client-versions.js';
import type { OpHandler } from './session.js';

/** Handles `init`. */
export const handleInit: OpHandler = (session, message) => {
  if (session.auth) {
    throw validationFailed('init', message as Json, [{ message: '`init` has already run for this session.' }]);
  }
  const rawAppId = message['app-id'];
  if (rawAppId === undefined || rawAppId === null) throw paramMissing(['app-id']);
  const appId = normalizeUuid(rawAppId);
  if (!appId) throw paramMalformed(['app-id'], rawAppId as Json);
  const app = session.services.sandbox.apps.live(appId);
  if (!app) throw recordNotFound('app', { args: [{ id: appId }] });

  const rawToken = message['refresh-token'];
  let user = null;
  if (rawToken !== undefined && rawToken !== null) {
    const token = normalizeUuid(rawToken);
    user = token ? app.users.byRefreshToken(token) : undefined;
    if (!user) throw recordNotFound('app-user', { args: [{ 'app-id': app.id }] });
  }
  const adminToken = message['__admin-token'];
  let admin = false;
  if (adminToken !== undefined && adminToken !== null) {
    if (typeof adminToken !== 'string' || adminToken.toLowerCase() !== app.adminToken)
      throw recordNotFound('app-admin-token', { args: [{ 'app-id': app.id }] });
    admin = true;
  }

  session.start({ app, user, admin }, clientFeatures(message['versions']));
  const auth = { app: { id: app.id, title: app.title }, user: user && { ...user }, 'admin?': admin };
  session.send(
    `{"op":"init-ok","session-id":"${session.id}","client-event-id":${JSON.stringify(message['client-event-id'] ?? null)},` +
      `"auth":${JSON.stringify(auth)},"attrs":${attrsJson(app.catalog)},"app-status":{"status":"active"}}`,
  );
};
