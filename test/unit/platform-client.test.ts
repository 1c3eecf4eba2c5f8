import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockedTemplate } from '../../src/template/app-template.js';
import { systemClock } from '../../src/clock.js';
import { MalformedResponseError, PlatformError } from '../../src/errors.js';
import { HttpPlatformClient } from '../../src/platform/http-platform-client.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let handler: Handler = (_req, res) => res.end();
let server: Server;
let client: HttpPlatformClient;
const requests: Array<{ method?: string; url?: string; auth?: string; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new HttpPlatformClient({
    apiUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    token: 'per_secret',
    clock: systemClock,
  });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
const signal = () => AbortSignal.timeout(2_000);

async function failure(promise: Promise<unknown>): Promise<PlatformError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PlatformError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('Platform API client', () => {
  it('creates an app: wrapped answer, bearer token, title and the template in the body', async () => {
    handler = json(200, {
      app: {
        id: 'app-1',
        title: 'swift-blue-otter',
        'admin-token': 'tok',
        created_at: '2026-11-27T10:00:00Z',
        perms: null,
      },
    });
    await expect(client.createApp('swift-blue-otter', template, signal())).resolves.toEqual({
      id: 'app-1',
      adminToken: 'tok',
    });
    expect(requests.at(-1)).toMatchObject({ method: 'POST', url: '/superadmin/apps', auth: 'Bearer per_secret' });
    // No template: locked rules, no schema; the shape @instantdb/platform's createApp sends.
    expect(JSON.parse(requests.at(-1)!.body)).toEqual({ title: 'swift-blue-otter', perms: template.perms });
    const schema = { entities: { notes: { attrs: {}, links: {} } }, links: {}, rooms: {} };
    await client.createApp(
      'calm-red-heron',
      { hash: 'h', schema, perms: { notes: { allow: { view: 'true' } } } },
      signal(),
    );
    expect(JSON.parse(requests.at(-1)!.body)).toEqual({
      title: 'calm-red-heron',
      schema,
      perms: { notes: { allow: { view: 'true' } } },
    });
  });

  it('lists the apps a filter asks for, with their titles and creation times', async () => {
    handler = json(200, {
      apps: [
        { id: 'a', title: 't', created_at: '2026-11-27T10:00:00Z', creator_id: 'u' },
        { id: 'b', title: 'other', created_at: '2026-11-27T09:00:00Z', creator_id: 'u' },
      ],
    });
    await expect(client.listApps({ titles: new Set(['t']) }, signal())).resolves.toEqual([
      { id: 'a', title: 't', createdAt: Date.parse('2026-11-27T10:00:00Z') },
    ]);
    await expect(client.listApps({ createdSince: 0 }, signal())).resolves.toHaveLength(2);
    await expect(client.listApps({}, signal())).resolves.toEqual([]);
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>not a listing</html>');
    };
    expect(await failure(client.listApps({}, signal()))).toMatchObject({ kind: 'malformed-response' });
  });

  it('deleting an app that is already gone is success', async () => {
    handler = json(400, { type: 'record-not-found', message: 'Record not found: app', hint: { 'record-type': 'app' } });
    await expect(client.deleteApp('gone', signal())).resolves.toBeUndefined();
    expect(requests.at(-1)).toMatchObject({ method: 'DELETE', url: '/superadmin/apps/gone' });
  });

  it.each([
    [
      'an HTML error page',
      (_req: IncomingMessage, res: ServerResponse) =>
        res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad gateway</html>'),
      'server',
      true,
    ],
    ['JSON without admin-token', json(200, { app: { id: 'app-1', title: 't' } }), 'malformed-response', true],
    ['an unwrapped app', json(200, { id: 'app-1', 'admin-token': 'x' }), 'malformed-response', true],
    ['wrong types', json(200, { app: { id: 42, 'admin-token': true } }), 'malformed-response', true],
    [
      'a 200 that is not JSON',
      (_req: IncomingMessage, res: ServerResponse) => res.end('ok'),
      'malformed-response',
      true,
    ],
    ['a 201', json(201, { app: { id: 'a', 'admin-token': 'b' } }), 'malformed-response', true],
    ['a 500', json(500, { type: 'unknown', message: 'Something went wrong. Sorry about this!' }), 'server', true],
    [
      'a permanent 400',
      json(400, { type: 'validation-failed', message: 'Validation failed for title' }),
      'rejected',
      false,
    ],
  ] as const)('classifies %s', async (_name, answer, kind, mayHaveCreated) => {
    handler = answer;
    const error = await failure(client.createApp('t', template, signal()));
    expect(error.kind).toBe(kind);
    expect(error.mayHaveCreated).toBe(mayHaveCreated);
    if (kind === 'malformed-response') expect(error).toBeInstanceOf(MalformedResponseError);
  });

  it('refuses a huge body without buffering it', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 40; i++) res.write(chunk);
      res.end();
    };
    const error = await failure(client.createApp('t', template, signal()));
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect(error.message).toMatch(/larger than/);
  });

  it('reads the wait of a 429 from Retry-After, or from InstantDB’s hint', async () => {
    handler = json(429, { type: 'rate-limited', message: 'slow down' }, { 'retry-after': '7' });
    expect(await failure(client.createApp('t', template, signal()))).toMatchObject({
      kind: 'rate-limited',
      retryAfterMs: 7_000,
      mayHaveCreated: false,
    });
    handler = json(429, {
      type: 'rate-limited',
      message: 'Your request exceeded the rate limit.',
      hint: { 'retry-after': 3 },
    });
    expect(await failure(client.createApp('t', template, signal()))).toMatchObject({
      kind: 'rate-limited',
      retryAfterMs: 3_000,
    });
  });

  it('recognises a rejected platform token and the wind-down, as global conditions', async () => {
    handler = json(400, {
      type: 'record-not-found',
      message: 'Record not found: instant-user',
      hint: { 'record-type': 'instant-user' },
    });
    expect(await failure(client.createApp('t', template, signal()))).toMatchObject({
      kind: 'token-rejected',
      scope: 'global',
    });
    handler = json(401, { message: 'Unauthorized' });
    expect(await failure(client.listApps({}, signal()))).toMatchObject({ kind: 'token-rejected', scope: 'global' });
    handler = json(400, {
      type: 'app-creation-disabled',
      message: "Instant is winding down and isn't accepting new apps.",
    });
    expect(await failure(client.createApp('t', template, signal()))).toMatchObject({
      kind: 'creation-disabled',
      scope: 'global',
      retryable: false,
    });
  });

  it('a server that never answers is a timeout; a refused connection is a network error', async () => {
    handler = () => {};
    const error = await failure(client.createApp('t', template, AbortSignal.timeout(200)));
    expect(error).toMatchObject({ kind: 'timeout', answered: false, mayHaveCreated: true });
    const closed = new HttpPlatformClient({ apiUri: 'http://127.0.0.1:1', token: 'x', clock: systemClock });
    expect(await failure(closed.createApp('t', template, signal()))).toMatchObject({
      kind: 'network',
      answered: false,
    });
  });

  it('keeps tokens echoed in error bodies out of its messages', async () => {
    handler = json(400, {
      type: 'record-not-found',
      message: 'Record not found: instant-user',
      hint: { 'record-type': 'instant-user', args: [{ token: 'per_secret' }] },
    });
    const error = await failure(client.createApp('t', template, signal()));
    expect(JSON.stringify({ ...error, text: error.message })).not.toContain('per_secret');
  });
});

const template = lockedTemplate();
