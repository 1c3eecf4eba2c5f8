/**
 * The AppCopier port (src/core/ports.ts) over the copy engine: what a fork needs, an app's schema
 * and rules as a template, and a verified copy of one app into another, each over the apps' own
 * admin tokens. Requests to one server share a transport and a rate pause (a 429 slows them all).
 */
import type { Clock } from '../clock.js';
import type { AppAtServer, AppCopier } from '../core/ports.js';
import type { AppTemplate } from '../core/types.js';
import { HttpTransport } from '../platform/http-transport.js';
import { lockedTemplate } from '../template/app-template.js';
import { AppClient } from './app-client.js';
import { AppSink } from './app-sink.js';
import { AppSource } from './app-source.js';
import { copy } from './copy.js';
import { RatePause } from './rate-pause.js';

export class EngineAppCopier implements AppCopier {
  private readonly servers = new Map<string, { transport: HttpTransport; pause: RatePause }>();

  constructor(private readonly clock: Clock) {}

  async templateOf(app: AppAtServer, hash: string, signal: AbortSignal): Promise<AppTemplate> {
    const config = await new AppSource(this.client(app)).readConfig(signal);
    // An app without stored rules is open to every client; a copy of it starts locked instead.
    return {
      hash,
      schema: config.schema as unknown as Record<string, unknown>,
      perms: config.rules ?? lockedTemplate().perms,
    };
  }

  async copy(
    from: AppAtServer,
    to: AppAtServer,
    onProgress: (copied: number) => void,
    signal: AbortSignal,
  ): Promise<{ entityCount: number }> {
    const result = await copy(new AppSource(this.client(from)), new AppSink(this.client(to)), {
      signal,
      onProgress: (progress) => {
        if (progress.phase === 'copy') onProgress(progress.entities);
      },
    });
    return { entityCount: result.entityCount };
  }

  /** Closes the connections kept open to each server. */
  close(): void {
    for (const { transport } of this.servers.values()) transport.close();
    this.servers.clear();
  }

  private client(app: AppAtServer): AppClient {
    let server = this.servers.get(app.apiUri);
    if (!server) {
      server = { transport: new HttpTransport(app.apiUri), pause: new RatePause(this.clock) };
      this.servers.set(app.apiUri, server);
    }
    return new AppClient(
      { apiUri: app.apiUri, appId: app.id, adminToken: app.adminToken },
      { clock: this.clock, ...server },
    );
  }
}
