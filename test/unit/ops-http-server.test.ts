/**
 * The ops HTTP server on 127.0.0.1 with real parts over a fake store: who may
 * read what, the Host check, the headers of every answer, and the limits of the
 * live stream (a cap on clients, a client that never reads).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { DASHBOARD_SCRIPT } from '../../src/ops/dashboard-page.js';
import { startHttpServer } from '../../src/ops/http-server.js';
import { LiveState } from '../../src/ops/live-state.js';
import { PrometheusTelemetry } from '../../src/ops/metrics.js';
import { SnapshotSource } from '../../src/ops/snapshot.js';
import { DEFAULT_STREAM_SETTINGS, SnapshotStream } from '../../src/ops/snapshot-stream.js';
import { FakeClock, settle } from '../fakes/fake-clock.js';
import { FakeStore } from '../fakes/fake-store.js';
import { LogSink } from '../fakes/log-sink.js';

const TOKEN = 'ops-unit-token-0123456789';
const TASK_ID = '00000000-0000-4000-8000-00000000abcd';

let closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  closers = [];
});

async function serve(token: string | undefined, maxClients = DEFAULT_STREAM_SETTINGS.maxClients) {
  const clock = new FakeClock();
  const store = new FakeStore();
  store.putRecord({ id: 'record-1', taskId: TASK_ID, name: 'swift-blue-otter', status: 'detached', detachedAt: 1 });
  const state = new LiveState(clock);
  const snapshots = new SnapshotSource(state, store, clock, {
    newest: 20,
    listed: 20,
    maxAgeMs: 0,
    retryEnabled: token !== undefined,
    showTaskIds: token !== undefined,
  });
  const logger = new LogSink();
  // The stream's first check is due at once on the system clock; nothing here waits for a later one.
  const stream = new SnapshotStream(snapshots, systemClock, logger, { ...DEFAULT_STREAM_SETTINGS, maxClients });
  const server = await startHttpServer(
    {
      state,
      metrics: new PrometheusTelemetry(),
      snapshots,
      stream,
      clock,
      logger,
      token,
      host: '127.0.0.1',
      retry: async () => 'not-found',
    },
    0,
  );
  closers.push(() => server.close());
  return { url: server.url, port: Number(new URL(server.url).port), clock, stream };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request with full control of its headers (fetch may not set Host); an event stream is read until its first snapshot. */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
        if (response.headers['content-type']?.startsWith('text/event-stream') && /data: .*\n\n/.test(body)) {
          resolve({ status: response.statusCode!, headers: response.headers, body });
          req.destroy();
        }
      });
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ops HTTP server: who may read what', () => {
  it('refuses a Host that names another server (DNS rebinding) and accepts this one by name or address', async () => {
    const { port } = await serve(undefined);
    for (const host of [
      'evil.example',
      `evil.example:${port}`,
      `127.0.0.1.evil.example:${port}`,
      'localhost.evil.example',
    ])
      expect((await get(port, '/api/status', { host })).status, host).toBe(421);
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LOCALHOST:${port}`,
      `[::1]:${port}`,
      '10.1.2.3:8080',
    ])
      expect((await get(port, '/healthz', { host })).status, host).toBe(200);
  });

  it('without a token, the data leaves task ids out', async () => {
    const { port } = await serve(undefined);
    const status = await get(port, '/api/status');
    expect(status.status).toBe(200);
    const snapshot = JSON.parse(status.body) as { detached: Array<{ taskId: unknown; name: string }> };
    expect(snapshot.detached).toEqual([expect.objectContaining({ name: 'swift-blue-otter', taskId: null })]);
    const events = await get(port, '/events');
    expect(events.body).toContain('swift-blue-otter');
    for (const body of [status.body, events.body]) expect(body).not.toContain(TASK_ID);
  });

  it('with a token, the data needs it and then names tasks; health, metrics and the page stay open', async () => {
    const { port } = await serve(TOKEN);
    for (const path of ['/api/status', '/events']) {
      expect((await get(port, path)).status, path).toBe(401);
      expect((await get(port, path, { authorization: 'Bearer wrong-token-0123456789' })).status, path).toBe(401);
      const answer = await get(port, path, { authorization: `Bearer ${TOKEN}` });
      expect(answer.status, path).toBe(200);
      expect(answer.body, path).toContain(TASK_ID);
    }
    for (const path of ['/healthz', '/metrics', '/', '/dashboard.js'])
      expect((await get(port, path)).status, path).toBe(200);
  });

  it('sends nosniff and frame-ancestors with every answer', async () => {
    const { port } = await serve(TOKEN);
    const answers = await Promise.all([
      get(port, '/healthz'),
      get(port, '/metrics'),
      get(port, '/'),
      get(port, '/api/status'),
      get(port, '/events', { authorization: `Bearer ${TOKEN}` }),
      get(port, '/nowhere'),
      get(port, '/', { host: 'evil.example' }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 401, 200, 404, 421]);
    for (const answer of answers) {
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    }
  });
});

describe('the live page', () => {
  it('its script parses (the browser test runs it only where a Chromium exists)', () => {
    expect(() => new Function(DASHBOARD_SCRIPT)).not.toThrow();
  });
});

describe('ops HTTP server: the live stream is bounded', () => {
  it('refuses one stream over the cap with 503, and takes one again after a client left', async () => {
    const { port } = await serve(undefined, 2);
    const sockets = await Promise.all([openStream(port), openStream(port)]);
    const over = await get(port, '/events');
    expect(over.status).toBe(503);
    expect(over.headers['retry-after']).toBe('30');
    sockets[0]!.destroy();
    await eventually(async () => (await get(port, '/events')).status === 200);
  });

  it('a client that never reads holds at most one snapshot beyond its buffer, and is dropped once stalled too long', async () => {
    const clock = new FakeClock();
    // A snapshot of ~2 MB that changes on every read, so every tick is news.
    let reads = 0;
    const big = 'x'.repeat(2_000_000);
    const source = {
      current: async () => ({ version: 1, generatedAt: '', reads: ++reads, big }),
    } as unknown as SnapshotSource;
    const logger = new LogSink();
    const stream = new SnapshotStream(source, clock, logger, DEFAULT_STREAM_SETTINGS);
    const responses: ServerResponse[] = [];
    const server = createServer((_request, response) => {
      responses.push(response);
      stream.add(response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    closers.push(() => void server.closeAllConnections());
    closers.push(() => stream.close());
    const port = (server.address() as AddressInfo).port;
    const socket = await openStream(port, false);
    closers.push(() => void socket.destroy());

    // 25 snapshots of 2 MB inside the stall timeout: 50 MB, far more than a loopback socket buffers.
    for (let i = 0; i < 25; i++) await clock.advance(DEFAULT_STREAM_SETTINGS.intervalMs);
    expect(reads).toBeGreaterThanOrEqual(25);
    expect(stream.size).toBe(1);
    expect(responses).toHaveLength(1);
    // Its buffer plus at most the one snapshot that found it full.
    expect(responses[0]!.writableLength).toBeGreaterThan(0);
    expect(responses[0]!.writableLength).toBeLessThan(2 * big.length);

    await clock.advance(DEFAULT_STREAM_SETTINGS.stallTimeoutMs);
    expect(stream.size).toBe(0);
    expect(responses[0]!.destroyed).toBe(true);
    expect(logger.messages('warn')).toContain('live page client dropped: it stopped reading');
  });
});

/** Opens GET /events on a raw socket; with `read` false the socket is paused and never reads a byte after the headers. */
function openStream(port: number, read = true): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    });
    socket.once('error', reject);
    socket.once('data', () => {
      if (!read) socket.pause();
      resolve(socket);
    });
  });
}

/** Retries `check` while I/O settles; it waits on sockets, never on a timer. */
async function eventually(check: () => Promise<boolean>, tries = 50): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await settle(20);
  }
  throw new Error('condition not met');
}
