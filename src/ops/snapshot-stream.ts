/**
 * GET /events: Server-Sent Events, one `data:` line of snapshot JSON whenever
 * it changed, checked every `intervalMs` (about a second), and a comment line
 * every `keepAliveMs` so proxies keep the stream open. Nothing is read while no
 * page is watching.
 *
 * Bounded: at most `maxClients` streams at once, and a client's socket holds at
 * most one message beyond its buffer. A write the socket cannot take marks the
 * client stalled; while stalled it is sent nothing, on `drain` it gets the
 * latest snapshot if it missed one (each message is a whole snapshot, so the
 * ones in between are not needed), and a client stalled for `stallTimeoutMs`
 * is dropped so it cannot hold a place for ever.
 */
import type { ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import type { Logger } from '../core/logger.js';
import type { DashboardSnapshot, SnapshotSource } from './snapshot.js';

export interface StreamSettings {
  intervalMs: number;
  keepAliveMs: number;
  /** Streams open at most at once; `add` refuses one more. */
  maxClients: number;
  /** A client whose socket has taken nothing for this long is disconnected. */
  stallTimeoutMs: number;
}

/** What the live page's server uses: 32 watchers is far more than an operations page needs. */
export const DEFAULT_STREAM_SETTINGS: StreamSettings = {
  intervalMs: 1_000,
  keepAliveMs: 15_000,
  maxClients: 32,
  stallTimeoutMs: 30_000,
};

interface Client {
  response: ServerResponse;
  /** When a write last found the socket's buffer full; null while it drains freely. */
  stalledSince: number | null;
  /** A snapshot was held back while stalled. */
  missed: boolean;
}

export class SnapshotStream {
  private readonly clients = new Set<Client>();
  private cancelTimer: () => void = () => {};
  private ticking = false;
  private lastKey = '';
  private lastMessage = '';
  private lastSentAt = 0;

  constructor(
    private readonly source: SnapshotSource,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: StreamSettings = DEFAULT_STREAM_SETTINGS,
  ) {}

  /** Streams open now. */
  get size(): number {
    return this.clients.size;
  }

  /**
   * Takes over `response` until the client goes away; false, with `response`
   * untouched, when `maxClients` streams are already open.
   */
  add(response: ServerResponse): boolean {
    if (this.clients.size >= this.settings.maxClients) return false;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const client: Client = { response, stalledSince: null, missed: false };
    this.clients.add(client);
    response.on('close', () => this.clients.delete(client));
    this.send(client, 'retry: 2000\n\n', false);
    if (this.lastMessage) this.send(client, this.lastMessage, true);
    if (!this.ticking) this.scheduleTick(0);
    return true;
  }

  /** Checks for a change soon, e.g. after an action. */
  poke(): void {
    if (this.clients.size > 0) this.scheduleTick(100);
  }

  /** Ends every stream. */
  close(): void {
    this.cancelTimer();
    this.ticking = false;
    for (const client of this.clients) client.response.end();
    this.clients.clear();
  }

  private scheduleTick(ms: number): void {
    this.cancelTimer();
    this.ticking = true;
    this.cancelTimer = this.clock.setTimer(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.dropStalled();
    if (this.clients.size === 0) {
      this.ticking = false;
      return;
    }
    try {
      this.publish(await this.source.current());
    } catch (error) {
      this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'live page update failed');
    }
    if (this.clients.size > 0) this.scheduleTick(this.settings.intervalMs);
    else this.ticking = false;
  }

  private publish(snapshot: DashboardSnapshot): void {
    const now = this.clock.now();
    // generatedAt changes every time; only a change in what it describes is news.
    const key = JSON.stringify({ ...snapshot, generatedAt: null });
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastMessage = `data: ${JSON.stringify(snapshot)}\n\n`;
      this.broadcast(this.lastMessage, true, now);
    } else if (now - this.lastSentAt >= this.settings.keepAliveMs) {
      this.broadcast(': keep-alive\n\n', false, now);
    }
  }

  private broadcast(text: string, isSnapshot: boolean, now: number): void {
    this.lastSentAt = now;
    for (const client of this.clients) this.send(client, text, isSnapshot);
  }

  private send(client: Client, text: string, isSnapshot: boolean): void {
    if (client.stalledSince !== null) {
      client.missed ||= isSnapshot;
      return;
    }
    if (client.response.write(text)) return;
    client.stalledSince = this.clock.now();
    client.response.once('drain', () => {
      client.stalledSince = null;
      if (!client.missed) return;
      client.missed = false;
      this.send(client, this.lastMessage, true);
    });
  }

  private dropStalled(): void {
    const now = this.clock.now();
    for (const client of this.clients) {
      if (client.stalledSince === null || now - client.stalledSince < this.settings.stallTimeoutMs) continue;
      this.clients.delete(client);
      client.response.destroy();
      this.logger.warn({ stalledMs: now - client.stalledSince }, 'live page client dropped: it stopped reading');
    }
  }
}
