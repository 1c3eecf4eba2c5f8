/**
 * The daemon's operations surface, put together: metrics and live state fed by
 * one telemetry, the record census, and the HTTP server. Built before the
 * Provisioner (which is given `telemetry`), served once the Provisioner exists.
 */
import { systemClock } from '../clock.js';
import type { Config } from '../config.js';
import type { Logger } from '../core/logger.js';
import type { RecordCatalog, Telemetry } from '../core/ports.js';
import type { RetryOutcome } from '../core/operations/retry-failed.js';
import { combineTelemetry } from './combine-telemetry.js';
import { startHttpServer } from './http-server.js';
import { LiveState } from './live-state.js';
import { PrometheusTelemetry } from './metrics.js';
import { RecordCensus } from './record-census.js';
import { SnapshotSource } from './snapshot.js';
import { SnapshotStream } from './snapshot-stream.js';

/** What the server needs of the Provisioner. */
export interface OperatedProvisioner {
  readonly catalog: RecordCatalog;
  /** The Provisioner's retry: per-task outcomes. */
  retryTasks(taskIds: readonly string[]): Promise<Array<{ taskId: string; outcome: RetryOutcome }>>;
}

export class Operations {
  readonly state = new LiveState(systemClock);
  readonly metrics = new PrometheusTelemetry();
  readonly telemetry: Telemetry = combineTelemetry(this.metrics, this.state);

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  /** Starts the census and the server; resolves with the URL and a close. */
  async serve(provisioner: OperatedProvisioner, port: number): Promise<{ url: string; close(): Promise<void> }> {
    const clock = systemClock;
    const census = new RecordCensus(provisioner.catalog, this.telemetry, clock, this.logger);
    const snapshots = new SnapshotSource(this.state, provisioner.catalog, clock, {
      newest: 20,
      listed: 20,
      maxAgeMs: 750,
      retryEnabled: this.config.httpToken !== undefined,
      // With a token every reader of the data has proved it holds it.
      showTaskIds: this.config.httpToken !== undefined,
    });
    const stream = new SnapshotStream(snapshots, clock, this.logger);
    const server = await startHttpServer(
      {
        state: this.state,
        metrics: this.metrics,
        snapshots,
        stream,
        clock,
        logger: this.logger,
        token: this.config.httpToken,
        host: this.config.httpHost,
        retry: async (taskId) => {
          const [result] = await provisioner.retryTasks([taskId]);
          void census.countNow();
          return result?.outcome ?? 'not-found';
        },
      },
      port,
    );
    census.start();
    return {
      url: server.url,
      close: async () => {
        census.stop();
        await server.close();
      },
    };
  }
}
