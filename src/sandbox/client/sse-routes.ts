/**
 * The client protocol's SSE transport on the router (see session-server.ts): `GET /runtime/sse`
 * opens a session stream, `POST /runtime/sse` delivers `{machine_id, session_id, sse_token,
 * messages}` to it. Both answer CORS, since the page may live on another origin.
 */
import { paramMalformed, paramMissing, recordNotFound, type Json } from '../errors.js';
import { readJson, sendJson, type Router } from '../http.js';
import { normalizeUuid } from '../uuid.js';
import type { ClientSessions } from './session-server.js';

const CORS = { 'access-control-allow-origin': '*' };

/** Registers the SSE transport of `sessions` on `router`. */
export function addSessionSseRoutes(router: Router, sessions: ClientSessions): void {
  router.add('OPTIONS', '/runtime/sse', ({ req, res }) => {
    res.writeHead(204, {
      ...CORS,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': req.headers['access-control-request-headers'] ?? 'content-type',
      'access-control-max-age': '600',
    });
    res.end();
  });

  router.add('GET', '/runtime/sse', ({ res, url }) => {
    res.setHeader('access-control-allow-origin', '*');
    uuid(url.searchParams.get('app_id'), ['params', 'app_id']);
    sessions.openStream(res, CORS);
  });

  router.add('POST', '/runtime/sse', async ({ req, res }) => {
    res.setHeader('access-control-allow-origin', '*');
    const raw = await readJson(req);
    const body = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const sessionId = uuid(body['session_id'], ['body', 'session_id']);
    const token = uuid(body['sse_token'], ['body', 'sse_token']);
    const messages = body['messages'];
    if (!Array.isArray(messages)) throw paramMissing(['body', 'messages']);
    if (!sessions.postToStream(sessionId, token, messages)) throw recordNotFound('sse-session');
    sendJson(res, {});
  });
}

function uuid(raw: unknown, path: string[]): string {
  if (raw === undefined || raw === null) throw paramMissing(path);
  const id = normalizeUuid(raw);
  if (!id) throw paramMalformed(path, raw as Json);
  return id;
}
