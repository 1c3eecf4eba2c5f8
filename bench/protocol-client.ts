/**
 * A browser's session on the client protocol, spoken raw over `ws` (what `@instantdb/core` sends and
 * receives on `/runtime/session`, without the client's own work on top), for the status-latency
 * phase: `init` as a signed-in user, `add-query`, and every `refresh-ok` as it arrives, with the
 * time it arrived.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';

type Message = Record<string, any>;

/** An attribute of the app, as `init-ok` lists it. */
export interface WireAttr {
  readonly id: string;
  readonly 'forward-identity': [string, string, string];
}

export class ProtocolSession {
  private readonly ws: WebSocket;
  private readonly waiters: Array<{ match: (m: Message) => boolean; resolve: (m: Message) => void }> = [];
  /** Hears every refresh-ok, with performance.now() at its arrival. */
  onRefresh: (message: Message, at: number) => void = () => {};

  private constructor(url: string) {
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on('message', (data) => {
      const at = performance.now();
      const parsed = JSON.parse(String(data)) as Message | Message[];
      for (const message of Array.isArray(parsed) ? parsed : [parsed]) this.receive(message, at);
    });
  }

  /** Opens a session as the user of `refreshToken` (`init`, as @instantdb/core 1.0.67 sends it); returns the app's attrs. */
  static async open(
    websocketURI: string,
    appId: string,
    refreshToken: string,
  ): Promise<{ session: ProtocolSession; attrs: WireAttr[] }> {
    const session = new ProtocolSession(websocketURI);
    await new Promise<void>((resolve, reject) => {
      session.ws.once('open', resolve);
      session.ws.once('error', reject);
    });
    const ok = await session.request(
      {
        op: 'init',
        'app-id': appId,
        'refresh-token': refreshToken,
        versions: { '@instantdb/core': 'v1.0.67' },
      },
      'init-ok',
    );
    return { session, attrs: ok['attrs'] as WireAttr[] };
  }

  /** Subscribes `q`; resolves with the first result (the add-query-ok). */
  async addQuery(q: Record<string, unknown>): Promise<unknown> {
    return (await this.request({ op: 'add-query', q }, 'add-query-ok'))['result'];
  }

  close(): void {
    this.ws.terminate();
  }

  private request(message: Message, answer: string): Promise<Message> {
    const eventId = randomUUID();
    const answered = new Promise<Message>((resolve, reject) =>
      this.waiters.push({
        match: (m) => m['client-event-id'] === eventId && (m['op'] === answer || m['op'] === 'error'),
        resolve: (m) => (m['op'] === 'error' ? reject(new Error(`${message.op}: ${JSON.stringify(m)}`)) : resolve(m)),
      }),
    );
    this.ws.send(JSON.stringify({ ...message, 'client-event-id': eventId }));
    return answered;
  }

  private receive(message: Message, at: number): void {
    if (message['op'] === 'refresh-ok') return this.onRefresh(message, at);
    const index = this.waiters.findIndex((waiter) => waiter.match(message));
    if (index >= 0) this.waiters.splice(index, 1)[0]!.resolve(message);
  }
}

/** The value of `attrId` on `entityId` in a query result (join rows of [e, a, v, t] triples), or undefined. */
export function tripleValue(result: unknown, entityId: string, attrId: string): unknown {
  if (Array.isArray(result)) {
    if (result.length === 4 && result[0] === entityId && result[1] === attrId) return result[2];
    for (const item of result) {
      const found = tripleValue(item, entityId, attrId);
      if (found !== undefined) return found;
    }
  } else if (result && typeof result === 'object') {
    for (const value of Object.values(result)) {
      const found = tripleValue(value, entityId, attrId);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
