/**
 * Counts every record by status now and then and reports the counts as
 * telemetry (the `databases{status}` gauge, the page's counts). A count reads
 * every record's status, so its cost grows with the main app: the next count
 * waits 20 times as long as the last one took (at least `minIntervalMs`, at
 * most `maxIntervalMs`), which keeps the census under 5% of the store's time.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../core/logger.js';
import type { RecordCatalog, Telemetry } from '../core/ports.js';
import { DATABASE_STATUSES } from '../core/types.js';

export interface CensusSettings {
  minIntervalMs: number;
  maxIntervalMs: number;
}

export class RecordCensus {
  private cancelTimer: () => void = () => {};
  private running = false;
  private counting: Promise<void> | null = null;

  constructor(
    private readonly catalog: RecordCatalog,
    private readonly telemetry: Telemetry,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: CensusSettings = { minIntervalMs: 1_000, maxIntervalMs: 60_000 },
  ) {}

  /** Counts at once, then again and again until `stop`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.countNow();
  }

  stop(): void {
    this.running = false;
    this.cancelTimer();
  }

  /** One count now (joining one already under way). */
  countNow(): Promise<void> {
    this.counting ??= this.count().finally(() => (this.counting = null));
    return this.counting;
  }

  private async count(): Promise<void> {
    const started = this.clock.now();
    try {
      const { byStatus, backups } = await this.catalog.countRecords();
      const counts: Record<string, number> = Object.fromEntries(DATABASE_STATUSES.map((status) => [status, 0]));
      this.telemetry.databaseCounts({ ...counts, ...byStatus }, backups);
    } catch (error) {
      this.logger.warn(
        { error: error instanceof Error ? error.message : String(error) },
        'counting records failed; counting again later',
      );
    }
    const took = this.clock.now() - started;
    if (!this.running) return;
    const { minIntervalMs, maxIntervalMs } = this.settings;
    this.cancelTimer();
    this.cancelTimer = this.clock.setTimer(
      () => void this.countNow(),
      Math.min(maxIntervalMs, Math.max(minIntervalMs, took * 20)),
    );
  }
}
