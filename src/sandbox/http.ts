/**
 * Minimal HTTP plumbing on node:http: a method+path router, JSON bodies, and error answers in
 * InstantDB's shape. Success is always HTTP 200 (both SDKs reject anything else, §1).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { malformedJsonBody, routeNotFound, SandboxHttpError, unknownServerError } from './errors.js';

/** One request as a handler sees it. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** Path parameters (`:id`). */
  readonly params: Record<string, string>;
}

/** Answers one request (throwing a SandboxHttpError answers with it). */
export type Handler = (exchange: Exchange) => void | Promise<void>;

interface Route {
  readonly method: string;
  readonly segments: string[];
  readonly handler: Handler;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Method + path routing; unknown routes answer InstantDB's 404. */
export class Router {
  private readonly routes: Route[] = [];

  constructor(private readonly onUnexpected: (error: unknown) => void = () => {}) {}

  /** Registers `handler` for `method` and a path like `/superadmin/apps/:id`. */
  add(method: string, path: string, handler: Handler): this {
    this.routes.push({ method, segments: path.split('/').slice(1), handler });
    return this;
  }

  /** The node:http request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    void this.dispatch(req, res);
  };

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
      const route = this.match(req.method ?? 'GET', url.pathname);
      if (!route) throw routeNotFound();
      await route.handler({ req, res, url, params: route.params });
    } catch (error) {
      if (!(error instanceof SandboxHttpError)) this.onUnexpected(error);
      if (!res.headersSent && !res.destroyed)
        sendError(res, error instanceof SandboxHttpError ? error : unknownServerError());
    }
  }

  private match(method: string, pathname: string): { handler: Handler; params: Record<string, string> } | undefined {
    const parts = pathname.split('/').slice(1);
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      const ok = route.segments.every((seg, i) => {
        if (seg.startsWith(':')) {
          params[seg.slice(1)] = decodeURIComponent(parts[i]!);
          return true;
        }
        return seg === parts[i];
      });
      if (ok) return { handler: route.handler, params };
    }
    return undefined;
  }
}

/** Reads and parses a JSON body; an empty body is `{}`; unparseable JSON is ring-json's 400. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new SandboxHttpError(413, { type: 'param-malformed', message: 'Request body too large.' });
    chunks.push(chunk as Buffer);
  }
  if (!size) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw malformedJsonBody();
  }
}

/** Answers 200 (or `status`) with a JSON body. */
export function sendJson(res: ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}): void {
  sendJsonText(res, JSON.stringify(body), status, headers);
}

/** Answers with JSON already serialised. */
export function sendJsonText(
  res: ServerResponse,
  text: string,
  status = 200,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Answers with an error; typed JSON bodies get a `trace-id` like the real server's. */
export function sendError(res: ServerResponse, error: SandboxHttpError): void {
  if (typeof error.body === 'string') {
    res.writeHead(error.status, { 'content-type': error.contentType, ...error.headers });
    res.end(error.body);
    return;
  }
  const body = 'type' in error.body ? { ...error.body, 'trace-id': traceId() } : error.body;
  sendJson(res, body, error.status, error.headers);
}

/** A 16-hex-digit trace id; only has to look like one, so Math.random is enough (and cheap). */
export function traceId(): string {
  const part = () =>
    Math.floor(Math.random() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return part() + part();
}

/** The bearer value as the server reads it: everything after `Bearer `, trimmed. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers['authorization'];
  if (header === undefined) return undefined;
  const parts = header.split('Bearer ');
  return (parts[parts.length - 1] ?? '').trim();
}
