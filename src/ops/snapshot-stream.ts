/**
 * GET /events: Server-Sent Events, one `data:` line of snapshot JSON whenever
 * it changed, checked every `intervalMs` (about a second), and a comment line
 * every `keepAliveMs` so proxies keep the stream open. Nothing is read while no
 * page is watching.
 */
import type { ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import type { Logger } from '../core/logger.js';
import type { DashboardSnapshot, SnapshotSource } from './snapshot.js';

export interface StreamSettings {
  intervalMs: number;
  keepAliveMs: number;
}

export class SnapshotStream {
  private readonly clients = new Set<ServerResponse>();
  private cancelTimer: () => void = () => {};
  private ticking = false;
  private lastKey = '';
  private lastMessage = '';
  private lastSentAt = 0;

  constructor(
    private readonly source: SnapshotSource,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: StreamSettings = { intervalMs: 1_000, keepAliveMs: 15_000 },
  ) {}

  /** Takes over `response` until the client goes away. */
  add(response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    response.write('retry: 2000\n\n');
    if (this.lastMessage) response.write(this.lastMessage);
    this.clients.add(response);
    response.on('close', () => this.clients.delete(response));
    if (!this.ticking) this.scheduleTick(0);
  }

  /** Checks for a change soon, e.g. after an action. */
  poke(): void {
    if (this.clients.size > 0) this.scheduleTick(100);
  }

  /** Ends every stream. */
  close(): void {
    this.cancelTimer();
    this.ticking = false;
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private scheduleTick(ms: number): void {
    this.cancelTimer();
    this.ticking = true;
    this.cancelTimer = this.clock.setTimer(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
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
      this.broadcast(this.lastMessage, now);
    } else if (now - this.lastSentAt >= this.settings.keepAliveMs) {
      this.broadcast(': keep-alive\n\n', now);
    }
  }

  private broadcast(text: string, now: number): void {
    this.lastSentAt = now;
    for (const client of this.clients) client.write(text);
  }
}
