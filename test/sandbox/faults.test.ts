import { id } from '@instantdb/admin';
import { PlatformApi } from '@instantdb/platform';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { startSandbox, type FaultConfig, type Sandbox } from '../../src/sandbox/index.js';
import { parseLatency } from '../../src/sandbox/faults.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { rejection, sandboxWithApp } from './helpers.js';

let sandbox: Sandbox;
afterEach(() => sandbox?.close());

async function start(faults: Partial<FaultConfig>, seed = 5, clock?: FakeClock) {
  sandbox = await startSandbox({ seed, faults, ...(clock ? { clock } : {}) });
  return new PlatformApi({ auth: { token: sandbox.platformToken }, apiURI: sandbox.url });
}

function create(title = 'swift-blue-river', signal?: AbortSignal) {
  return fetch(`${sandbox.url}/superadmin/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sandbox.platformToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title }),
    ...(signal ? { signal } : {}),
  });
}

/** Waits (in real time, without a deadline of its own beyond the test's) until `check` holds. */
const waitUntil = (check: () => boolean) =>
  vi.waitFor(() => expect(check()).toBe(true), { timeout: 10_000, interval: 5 });

const platformApps = () => sandbox.apps().filter((a) => a.via === 'platform');

describe('create faults', () => {
  test('500 with the untyped body; no app', async () => {
    const api = await start({ p500: 1 });
    const error = await rejection(api.createApp({ title: 'x' }));
    expect(error.status).toBe(500);
    expect(error.body).toMatchObject({
      type: 'unknown',
      message: 'Something went wrong. Sorry about this!',
      hint: { 'debug-uri': expect.any(String) },
    });
    expect(platformApps()).toEqual([]);
    expect(sandbox.stats().faults.create500).toBe(1);
  });

  test('429 with a Retry-After header, and 429 with the wait in the hint', async () => {
    await start({ p429: 1, retryAfter: 7 });
    const header = await create();
    expect(header.status).toBe(429);
    expect(header.headers.get('retry-after')).toBe('7');
    expect(await header.json()).toMatchObject({ type: 'rate-limited' });

    sandbox.faults.set({ p429: 0, p429Hint: 1 });
    const hinted = await create();
    expect(hinted.status).toBe(429);
    expect(hinted.headers.get('retry-after')).toBeNull();
    expect(await hinted.json()).toMatchObject({
      type: 'rate-limited',
      hint: { 'retry-after': 7, 'retry-at': expect.any(String) },
    });
    expect(platformApps()).toEqual([]);
    expect(sandbox.stats().faults).toMatchObject({ create429: 1, create429Hint: 1 });
  });

  test('a hung create is never answered and creates nothing; it counts as held until the client gives up', async () => {
    await start({ pHang: 1 });
    const client = new AbortController();
    const hung = rejection(create('x', client.signal));
    await waitUntil(() => sandbox.stats().faults.createHang === 1);
    expect(sandbox.stats().held).toBe(1);
    client.abort();
    expect((await hung).name).toBe('AbortError');
    expect(platformApps()).toEqual([]);
    await waitUntil(() => sandbox.stats().held === 0);
  });

  test('a lost response: the app exists but the connection dies without an answer', async () => {
    await start({ pLost: 1 });
    const error = await rejection(create('lost-app'));
    expect(error).toBeInstanceOf(TypeError); // fetch failed: socket hang up
    expect(platformApps()).toMatchObject([{ title: 'lost-app', deletedAt: null }]);
    sandbox.faults.reset();
    const list = await new PlatformApi({ auth: { token: sandbox.platformToken }, apiURI: sandbox.url }).getApps();
    expect(list.apps.map((a) => a.title)).toEqual(['lost-app']);
  });

  test('malformed answers: an HTML 502 page (no app), and 200 JSON without admin-token (app created)', async () => {
    const api = await start({ pMalformed: 1 });
    const html = await create();
    expect(html.status).toBe(502);
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(await html.text()).toContain('<h1>502 Bad Gateway</h1>');
    expect((await rejection(api.createApp({ title: 'x' }))).status).toBe(502);
    expect(platformApps()).toEqual([]);

    sandbox.faults.set({ pMalformed: 0, pMissingToken: 1 });
    const res = await create('tokenless');
    expect(res.status).toBe(200);
    const { app } = (await res.json()) as { app: Record<string, unknown> };
    expect(app).not.toHaveProperty('admin-token');
    expect(platformApps().map((a) => a.title)).toEqual(['tokenless']);
    expect(sandbox.stats().faults).toMatchObject({ createMalformed: 2, createMissingToken: 1 });
  });

  test('wind-down: every create is 400 app-creation-disabled', async () => {
    const api = await start({ windDown: true });
    const error = await rejection(api.createApp({ title: 'x' }));
    expect(error.status).toBe(400);
    expect(error.body).toMatchObject({ type: 'app-creation-disabled', hint: { sunset: true } });
    expect(error.message).toMatch(/^Instant is winding down and isn't accepting new apps\. /);
  });

  test('latency is served by timers: 16 concurrent creates at 100 ms all wait the same 100 ms', async () => {
    const clock = new FakeClock();
    await start({ createLatency: 100 }, 5, clock);
    const answers = Promise.all(Array.from({ length: 16 }, (_, i) => create(`app-${i}`)));
    await waitUntil(() => sandbox.stats().faults.createDelayed === 16);
    expect(sandbox.stats().held).toBe(16);
    await clock.advance(99);
    expect(platformApps()).toEqual([]);
    await clock.advance(1);
    expect(platformApps()).toHaveLength(16);
    expect((await answers).every((r) => r.status === 200)).toBe(true);
    expect(sandbox.stats().held).toBe(0);
  });

  test('latency distributions are sampled from the seed and clamped at zero', () => {
    expect(parseLatency('100')).toBe(100);
    expect(parseLatency('uniform:50:150')).toEqual({ kind: 'uniform', min: 50, max: 150 });
    expect(parseLatency('normal:100:20')).toEqual({ kind: 'normal', mean: 100, sd: 20 });
    expect(() => parseLatency('uniform:150:50')).toThrow(/uniform:MIN:MAX/);
  });

  test('a fixed seed replays the same fault sequence', async () => {
    const mix = { p500: 0.2, p429: 0.2, pMalformed: 0.2 };
    const run = async () => {
      await start(mix, 42);
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await create(`a${i}`)).status);
      await sandbox.close();
      return statuses;
    };
    const first = await run();
    expect(new Set(first)).toEqual(new Set([200, 500, 429, 502]));
    expect(await run()).toEqual(first);
  });
});

describe('transact faults', () => {
  test('a failed transact is 500 with a typed body and applies nothing', async () => {
    let db;
    ({ sandbox, db } = await sandboxWithApp({ faults: { pTransactFail: 1 } }));
    const error = await rejection(db.transact(db.tx.tasks[id()]!.update({ createdAt: 1 })));
    expect(error.status).toBe(500);
    expect(error.body).toMatchObject({ type: 'sql-exception', hint: { 'debug-uri': expect.any(String) } });
    sandbox.faults.reset();
    expect((await db.query({ tasks: {} })).tasks).toEqual([]);
    expect(sandbox.stats()).toMatchObject({ failedTransacts: 1, transacts: 0, faults: { transactFail: 1 } });
  });
});

describe('transact latency', () => {
  test('delays the write; a client that gives up meanwhile loses it, as if it never arrived', async () => {
    const clock = new FakeClock();
    let db;
    ({ sandbox, db } = await sandboxWithApp({ clock, faults: { transactLatency: 150 } }));
    const write = db.transact(db.tx.tasks[id()]!.update({ createdAt: 1 }));
    await waitUntil(() => sandbox.stats().faults.transactDelayed === 1);
    expect(sandbox.stats().held).toBe(1);
    await clock.advance(149);
    expect(sandbox.stats().transacts).toBe(0);
    await clock.advance(1);
    await write;
    expect(sandbox.stats()).toMatchObject({ transacts: 1, held: 0 });

    // A raw request abandoned while its latency runs: the sandbox drops it once the latency is over.
    const app = sandbox.apps()[0]!;
    const client = new AbortController();
    const abandoned = fetch(`${sandbox.url}/admin/transact?app_id=${app.id}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'app-id': app.id,
        authorization: `Bearer ${sandbox.platformToken}`,
      },
      body: JSON.stringify({ steps: [['update', 'tasks', id(), { createdAt: 2 }]] }),
      signal: client.signal,
    });
    await waitUntil(() => sandbox.stats().faults.transactDelayed === 2);
    client.abort();
    await expect(abandoned).rejects.toThrow();
    await waitUntil(() => sandbox.stats().faults.transactAbandoned === 1);
    await waitUntil(() => sandbox.stats().held === 0); // held no longer: nobody waits for it
    await clock.advance(150);
    sandbox.faults.reset();
    expect((await db.query({ tasks: {} })).tasks).toHaveLength(1);
    expect(sandbox.stats()).toMatchObject({ transacts: 1, faults: { transactDelayed: 2, transactAbandoned: 1 } });
  });
});

describe('control endpoint', () => {
  test('GET shows, POST patches (validated), DELETE resets; the platform token is required', async () => {
    await start({});
    const call = (method: string, body?: unknown, token = sandbox.platformToken) =>
      fetch(`${sandbox.url}/__sandbox/faults`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    expect(await (await call('GET')).json()).toMatchObject({ p500: 0, windDown: false, createLatency: 0 });
    const patched = await call('POST', { p500: 1, createLatency: { kind: 'uniform', min: 1, max: 2 } });
    expect(await patched.json()).toMatchObject({ p500: 1, createLatency: { kind: 'uniform', min: 1, max: 2 } });
    expect((await create()).status).toBe(500);
    const invalid = await call('POST', { p500: 2 });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { message: string }).message).toMatch(/^p500: /);
    const unknown = await call('POST', { pNope: 1 });
    expect(((await unknown.json()) as { message: string }).message).toContain('pNope');
    expect(await (await call('DELETE')).json()).toMatchObject({ p500: 0 });
    expect((await create()).status).toBe(200);
    expect((await call('GET', undefined, `per_${'2'.repeat(64)}`)).status).toBe(400);
  });
});
