/**
 * The daemon's HTTP server (node:http): health, readiness, metrics, the live
 * page and its data, and one action (retry) behind a bearer token.
 *
 * Who may see what: health, readiness, metrics and the static page are open
 * (they name no task). With a configured token, the page's data (`/api/status`,
 * `/events`) and every action need it; without one, the data leaves task ids
 * out and every mutating request is refused with 403. A request whose `Host`
 * names another server (DNS rebinding) is refused with 421 before anything else.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../clock.js';
import type { Logger } from '../core/logger.js';
import { checkBearer } from './bearer-token.js';
import { DASHBOARD_HTML, DASHBOARD_SCRIPT } from './dashboard-page.js';
import { hostAllowed } from './host-check.js';
import { readiness, type LiveState } from './live-state.js';
import type { PrometheusTelemetry } from './metrics.js';
import type { SnapshotSource } from './snapshot.js';
import type { SnapshotStream } from './snapshot-stream.js';
import { listen } from './listen.js';

export interface HttpServerDeps {
  state: LiveState;
  metrics: PrometheusTelemetry;
  snapshots: SnapshotSource;
  stream: SnapshotStream;
  retry(taskId: string): Promise<'retried' | 'not-failed' | 'not-found'>;
  clock: Clock;
  logger: Logger;
  token: string | undefined;
  /** `--http-host`: a name besides localhost that `Host` may carry. */
  host: string;
}

const MAX_BODY_BYTES = 4_096;
const RETRY_STATUS = { retried: 200, 'not-failed': 409, 'not-found': 404 } as const;

/** Sent with every answer, JSON, metrics and the event stream included. */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  // The page loads only its own script, talks only to this server, and is never framed.
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
};

export async function startHttpServer(
  deps: HttpServerDeps,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    handle(deps, request, response).catch((error: unknown) => {
      deps.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'http request failed');
      if (!response.headersSent) json(response, 500, { error: 'internal error' });
      else response.end();
    });
  });
  await listen(server, port, deps.host);
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        deps.stream.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(deps: HttpServerDeps, request: IncomingMessage, response: ServerResponse): Promise<void> {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
  if (!hostAllowed(request.headers.host, deps.host))
    return json(response, 421, { error: 'this server does not answer for that Host' });
  const path = new URL(request.url ?? '/', 'http://x').pathname;
  const method = request.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return mutate(deps, request, response, path);
  if ((path === '/api/status' || path === '/events') && !mayReadData(deps, request, response)) return;
  switch (path) {
    case '/healthz':
      return json(response, 200, { ok: true });
    case '/readyz': {
      const ready = readiness(deps.state, deps.clock.now());
      return json(response, ready.ready ? 200 : 503, ready);
    }
    case '/metrics': {
      const { contentType, body } = await deps.metrics.exposition();
      response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
      return void response.end(body);
    }
    case '/api/status':
      return json(response, 200, await deps.snapshots.current());
    case '/events':
      if (deps.stream.add(response)) return;
      response.setHeader('retry-after', '30');
      return json(response, 503, { error: 'too many live streams open' });
    case '/':
      return text(response, 200, 'text/html; charset=utf-8', DASHBOARD_HTML);
    case '/dashboard.js':
      return text(response, 200, 'text/javascript; charset=utf-8', DASHBOARD_SCRIPT);
    default:
      return json(response, 404, { error: 'not found' });
  }
}

/** With a token configured, the page's data needs it; answers 401 and returns false otherwise. */
function mayReadData(deps: HttpServerDeps, request: IncomingMessage, response: ServerResponse): boolean {
  if (deps.token === undefined) return true;
  if (checkBearer(deps.token, request.headers.authorization) === 'allowed') return true;
  response.setHeader('www-authenticate', 'Bearer');
  json(response, 401, { error: 'missing or wrong bearer token' });
  return false;
}

async function mutate(deps: HttpServerDeps, request: IncomingMessage, response: ServerResponse, path: string) {
  const auth = checkBearer(deps.token, request.headers.authorization);
  if (auth === 'no-token-configured')
    return json(response, 403, { error: 'actions are off: the daemon has no --http-token' });
  if (auth !== 'allowed') {
    response.setHeader('www-authenticate', 'Bearer');
    return json(response, 401, { error: 'missing or wrong bearer token' });
  }
  if (path !== '/api/retry' || request.method !== 'POST') return json(response, 404, { error: 'not found' });
  const body = await readJson(request);
  const taskId = (body as { taskId?: unknown } | null)?.taskId;
  if (typeof taskId !== 'string' || taskId === '') return json(response, 400, { error: 'expected {"taskId": "<id>"}' });
  const outcome = await deps.retry(taskId);
  deps.snapshots.invalidate();
  deps.stream.poke();
  return json(response, RETRY_STATUS[outcome], { taskId, outcome });
}

function readJson(request: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return void request.destroy();
      chunks.push(chunk);
    });
    request.on('error', reject);
    request.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(null);
      }
    });
  });
}

function json(response: ServerResponse, status: number, value: unknown): void {
  text(response, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function text(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}
