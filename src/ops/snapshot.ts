/**
 * The live page's one document (also GET /api/status): live state plus a few
 * short reads of the catalog. Records go through showRecord, so nothing else a
 * record may carry (an admin token) can reach the page. Task ids are shown only
 * when `showTaskIds` (the server then asks for the token): a deleted task's id
 * is what re-creating it inside the grace needs.
 */
import type { Clock } from '../clock.js';
import type { RecordCatalog } from '../core/ports.js';
import { showRecord, type ShownRecord } from '../core/operations/shown-record.js';
import type { DatabaseRecord } from '../core/types.js';
import { showBackupTotals, type ShownBackupTotals } from '../core/operations/status-report.js';
import { readiness, type GateView, type LiveState, type PlatformFailure } from './live-state.js';
import type { ThroughputBucket } from './throughput-series.js';

export interface DashboardSnapshot {
  version: 1;
  generatedAt: string;
  ready: boolean;
  reasons: string[];
  gate: GateView;
  subscriptions: Record<string, boolean>;
  /** Records by status from the latest full count; null before the first. */
  counts: Record<string, number> | null;
  /** What the ready databases' last backups add up to, from the same count; null before the first. */
  backups: ShownBackupTotals | null;
  activity: {
    createsInFlight: number;
    orphansDeleted: number;
    resubscribes: number;
    lastPlatformFailure: PlatformFailure | null;
  };
  throughput: { bucketMs: number; buckets: ThroughputBucket[] };
  newest: ListedRecord[];
  detached: ListedRecord[];
  retained: ListedRecord[];
  /** Why the record lists may be stale (the last read failed), or null. */
  catalogError: string | null;
  /** Whether the page may offer actions (a token is configured). */
  actions: { retry: boolean };
}

/** A record on the page: `taskId` is null unless task ids are shown. */
export type ListedRecord = Omit<ShownRecord, 'taskId'> & { taskId: string | null };

export interface SnapshotSettings {
  newest: number;
  listed: number;
  /** A snapshot younger than this is served again instead of reading the catalog. */
  maxAgeMs: number;
  retryEnabled: boolean;
  /** Whether records carry their task id (only when every reader holds the token). */
  showTaskIds: boolean;
}

interface RecordLists {
  newest: ListedRecord[];
  detached: ListedRecord[];
  retained: ListedRecord[];
}

export class SnapshotSource {
  private lists: RecordLists = { newest: [], detached: [], retained: [] };
  private listsAt = -Infinity;
  private catalogError: string | null = null;
  private reading: Promise<void> | null = null;

  constructor(
    private readonly state: LiveState,
    private readonly catalog: RecordCatalog,
    private readonly clock: Clock,
    private readonly settings: SnapshotSettings,
  ) {}

  /** The snapshot now, reading the catalog when the last read is older than `maxAgeMs`. */
  async current(): Promise<DashboardSnapshot> {
    if (this.clock.now() - this.listsAt >= this.settings.maxAgeMs) await this.readLists();
    return this.compose();
  }

  /** The next `current` reads the catalog (after an action changed it). */
  invalidate(): void {
    this.listsAt = -Infinity;
  }

  private readLists(): Promise<void> {
    this.reading ??= this.read().finally(() => (this.reading = null));
    return this.reading;
  }

  private async read(): Promise<void> {
    const { newest, listed } = this.settings;
    try {
      const [latest, detached, retained] = await Promise.all([
        this.catalog.listNewestRecords(newest),
        this.catalog.listRecordsWithStatus(['detached'], listed),
        this.catalog.listRecordsWithStatus(['retained'], listed),
      ]);
      const list = (records: DatabaseRecord[]): ListedRecord[] =>
        records.map((record) => {
          const shown = showRecord(record);
          return this.settings.showTaskIds ? shown : { ...shown, taskId: null };
        });
      this.lists = { newest: list(latest), detached: list(detached), retained: list(retained) };
      this.catalogError = null;
    } catch (error) {
      this.catalogError = error instanceof Error ? error.message : String(error);
    }
    this.listsAt = this.clock.now();
  }

  private compose(): DashboardSnapshot {
    const now = this.clock.now();
    const { ready, reasons, gate } = readiness(this.state, now);
    const { throughput } = this.state;
    return {
      version: 1,
      generatedAt: new Date(now).toISOString(),
      ready,
      reasons,
      gate,
      subscriptions: this.state.subscriptionStates(),
      counts: this.state.databaseCountsNow,
      backups: this.state.backupTotalsNow && showBackupTotals(this.state.backupTotalsNow),
      activity: this.state.activity,
      throughput: { bucketMs: throughput.bucketMs, buckets: throughput.buckets(now) },
      ...this.lists,
      catalogError: this.catalogError,
      actions: { retry: this.settings.retryEnabled },
    };
  }
}
