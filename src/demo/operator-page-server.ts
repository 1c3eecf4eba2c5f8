/**
 * The operator page's server for the local demo (node:http): the page's HTML, its bundle and
 * stylesheet (dist/web/, made by `npm run build`), and `/config.json`: where the main app is and
 * the demo users' refresh tokens, so the page can sign in as either. Those are the tokens of two
 * made-up users of an in-memory sandbox; no admin or platform token is ever served. As on the ops
 * server, a request naming another host (DNS rebinding) is refused.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { hostAllowed } from '../ops/host-check.js';
import type { OperatorPageConfig } from '../web/operator-page/page-config.js';
import { listen } from '../ops/listen.js';

export interface OperatorPageServerOptions {
  port: number;
  host: string;
  config: OperatorPageConfig;
  /** Where the built bundle is; default dist/web of this checkout. */
  assetsDir?: string;
}

/** A running page server. */
export interface OperatorPageServer {
  readonly url: string;
  close(): Promise<void>;
}

const ASSETS: Readonly<Record<string, string>> = {
  '/operator-page.js': 'text/javascript; charset=utf-8',
  '/operator-page.css': 'text/css; charset=utf-8',
};

/** dist/web of this checkout, whether this module runs built (dist/src/demo) or from source (src/demo). */
export function defaultAssetsDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const marker = here.includes('/dist/src/demo/') ? '/dist/src/demo/' : '/src/demo/';
  return `${here.slice(0, here.lastIndexOf(marker))}/dist/web`;
}

export async function startOperatorPageServer(options: OperatorPageServerOptions): Promise<OperatorPageServer> {
  const assetsDir = options.assetsDir ?? defaultAssetsDir();
  const { apiURI, websocketURI } = options.config;
  const headers = {
    'x-content-type-options': 'nosniff',
    // The page loads its own bundle and talks only to the sandbox (HTTP for auth, WebSocket for sync).
    'content-security-policy':
      `default-src 'self'; connect-src 'self' ${apiURI} ${websocketURI}; ` +
      "img-src 'self' data:; frame-ancestors 'none'",
  };
  const server = createServer((request, response) => {
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    serve(request, response, options, assetsDir).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', String(error));
      else response.end();
    });
  });
  await listen(server, options.port, options.host);
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  options: OperatorPageServerOptions,
  assetsDir: string,
): Promise<void> {
  if (!hostAllowed(request.headers.host, options.host))
    return send(response, 421, 'text/plain; charset=utf-8', 'this server does not answer for that Host');
  if (request.method !== 'GET' && request.method !== 'HEAD')
    return send(response, 405, 'text/plain; charset=utf-8', 'method not allowed');
  const path = new URL(request.url ?? '/', 'http://x').pathname;
  if (path === '/') return send(response, 200, 'text/html; charset=utf-8', PAGE_HTML);
  if (path === '/config.json')
    return send(response, 200, 'application/json; charset=utf-8', JSON.stringify(options.config));
  const type = ASSETS[path];
  if (!type) return send(response, 404, 'text/plain; charset=utf-8', 'not found');
  let body: Buffer;
  try {
    body = await readFile(`${assetsDir}${path}`);
  } catch {
    return send(response, 503, 'text/plain; charset=utf-8', `${path} is not built: run \`npm run build\``);
  }
  return send(response, 200, type, body);
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Operator app · instant-provisioner demo</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/operator-page.css">
</head>
<body>
<div id="root"><p class="page-loading">Loading the operator page…</p></div>
<noscript>The operator page needs JavaScript: it runs the real @instantdb/react client.</noscript>
<script type="module" src="/operator-page.js"></script>
</body>
</html>
`;
