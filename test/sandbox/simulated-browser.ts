/**
 * Browsers simulated in one Node process with the real, unmodified `@instantdb/core` (the client
 * `@instantdb/react` wraps), pointed at a sandbox. What Node lacks is stubbed as the client needs
 * it: a `window` (the client does nothing without one), `navigator.onLine`, a global `WebSocket`
 * (the `ws` package's). Each simulated browser gets its own in-memory storage and its own hidden
 * `__extraDedupeKey` (otherwise `init` hands back the same cached client), and `BroadcastChannel`
 * stays undefined: through it every client in the process would adopt the last signed-in user,
 * like tabs of one browser.
 */
import { init, StoreInterface, type InstantCoreDatabase, type InstantSchemaDef } from '@instantdb/core';
import { EventSource } from '@instantdb/eventsource';
import { WebSocket } from 'ws';

/** Storage that lives as long as its client: one simulated browser's IndexedDB. */
export class MemoryStore extends StoreInterface {
  private readonly items = new Map<string, unknown>();
  async getItem(key: string): Promise<unknown> {
    return this.items.get(key) ?? null;
  }
  async setItem(key: string, value: unknown): Promise<void> {
    this.items.set(key, value);
  }
  async removeItem(key: string): Promise<void> {
    this.items.delete(key);
  }
  async getAllKeys(): Promise<string[]> {
    return [...this.items.keys()];
  }
  async multiSet(pairs: Array<[string, unknown]>): Promise<void> {
    for (const [key, value] of pairs) this.items.set(key, value);
  }
}

/** Online per `navigator.onLine`; never changes. */
const OnlineListener = {
  getIsOnline: async () => (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine === true,
  listen: () => () => {},
};

/** Every frame any simulated browser received, as text (to check what never reaches a browser). */
export const receivedFrames: string[] = [];
/** Every frame any simulated browser sent. */
export const sentFrames: string[] = [];

/** The `ws` client, recording what it receives and sends. */
class RecordingWebSocket extends WebSocket {
  constructor(url: string) {
    super(url);
    this.on('message', (data) => receivedFrames.push(String(data)));
  }

  override send(data: string): void {
    sentFrames.push(data);
    super.send(data);
  }
}

/** Makes this process look enough like a browser page for `@instantdb/core`. */
export function installBrowserGlobals(): void {
  const g = globalThis as Record<string, unknown>;
  g['window'] ??= {};
  if (typeof g['navigator'] !== 'object' || g['navigator'] === null) g['navigator'] = { onLine: true };
  else Object.defineProperty(g['navigator'], 'onLine', { value: true, configurable: true });
  g['WebSocket'] = RecordingWebSocket;
  g['BroadcastChannel'] = undefined;
}

let browsers = 0;

/**
 * Resolves with the first result of `query` that `accept` takes (rejects on a query error).
 * Waits on the client's own callback; the test's timeout bounds it.
 */
export function resultOf<T>(
  db: { subscribeQuery(q: any, cb: (r: { data?: any; error?: { message: string } }) => void): () => void },
  query: Record<string, unknown>,
  accept: (data: any) => T | undefined | false,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false;
    let stop: (() => void) | undefined;
    const finish = () => {
      done = true;
      // The callback may run inside subscribeQuery, before `stop` exists.
      queueMicrotask(() => stop?.());
    };
    stop = db.subscribeQuery(query, (r) => {
      if (done) return;
      if (r.error) {
        finish();
        return reject(new Error(r.error.message));
      }
      const accepted = r.data && accept(r.data);
      if (accepted === undefined || accepted === false) return;
      finish();
      resolve(accepted);
    });
  });
}

/** Resolves once the client's session is open (`init-ok` received): writes before that are only queued. */
export function connected(db: { subscribeConnectionStatus(cb: (status: string) => void): () => void }): Promise<void> {
  return new Promise((resolve) => {
    let stop: (() => void) | undefined;
    let done = false;
    stop = db.subscribeConnectionStatus((status) => {
      if (status !== 'authenticated' || done) return;
      done = true;
      queueMicrotask(() => stop?.());
      resolve();
    });
  });
}

/**
 * Whether `secret` reached any simulated browser in data the sandbox sent, leaving out the
 * queries it echoes back (`q`, `instaql-query`, `original-event`), which hold what the client wrote.
 */
export function leaked(secret: string): boolean {
  return receivedFrames.some((frame) => {
    const parsed = JSON.parse(frame) as unknown;
    const messages = (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, any>[];
    return messages.some((m) => {
      const { q: _q, 'original-event': _original, computations, ...rest } = m;
      const results = (computations ?? []).map((c: Record<string, unknown>) => c['instaql-result']);
      return JSON.stringify([rest, results]).includes(secret);
    });
  });
}

/** A new simulated browser: its own `@instantdb/core` client, storage and user. */
export function openBrowser<Schema extends InstantSchemaDef<any, any, any>>(
  sandbox: { readonly url: string; readonly websocketURI: string },
  appId: string,
  schema?: Schema,
  extra: { adminToken?: string; sse?: boolean } = {},
): InstantCoreDatabase<Schema, false> {
  installBrowserGlobals();
  const config = {
    appId,
    apiURI: sandbox.url,
    // With `sse`, the WebSocket is refused (404) before any message, so the client falls back
    // to the SSE transport as @instantdb/react does (it passes an EventSource; core alone does not).
    websocketURI: extra.sse ? sandbox.websocketURI.replace('/runtime/session', '/no-websocket') : sandbox.websocketURI,
    devtool: false,
    ...(schema ? { schema } : {}),
    ...(extra.adminToken ? { __adminToken: extra.adminToken } : {}),
    __extraDedupeKey: `simulated-browser-${++browsers}`,
  };
  return init(
    config as Parameters<typeof init>[0],
    MemoryStore as never,
    OnlineListener as never,
    undefined,
    extra.sse ? (EventSource as never) : undefined,
  ) as never;
}
