/**
 * Deletes apps that carry a finished record's name but are not that record's app.
 *
 * Reconciling a record already removes the apps a lost create left behind before
 * creating again. This sweep catches what that cannot: an app made by a daemon
 * that lost its record to another daemon and died before deleting it. It only
 * touches apps whose title is the name of a record no create is sent for any
 * more (ready, failed, detached, retained) and that were created after the
 * record, so other apps of the same account are never at risk.
 *
 * Each sweep considers only the apps created since the previous one started
 * (minus a minute: whole-second timestamps and clock skew), so its cost does not
 * grow with the account; a process's first sweep looks back `firstLookbackMs`.
 * Older apps are `instant-provisioner gc`'s to find.
 */
import type { Clock } from '../../clock.js';
import { PlatformError } from '../../errors.js';
import { withDeadline } from '../deadline.js';
import { madeAfter, type AppDirectory } from './app-directory.js';
import type { Logger } from '../logger.js';
import { noTelemetry, type PlatformClient, type Store, type Telemetry } from '../ports.js';
import type { DatabaseRecord } from '../types.js';

const NAMES_PER_QUERY = 100;
const MARGIN_MS = 60_000;

export interface OrphanSweeperSettings {
  requestTimeoutMs: number;
  /** How far back a process's first sweep looks. */
  firstLookbackMs: number;
}

export class OrphanSweeper {
  /** When the last successful sweep's listing started. */
  private sweptAt: number | null = null;

  constructor(
    private readonly directory: AppDirectory,
    private readonly store: Store,
    private readonly platform: PlatformClient,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: OrphanSweeperSettings,
    private readonly telemetry: Telemetry = noTelemetry,
  ) {}

  /** Returns how many orphans were deleted. */
  async sweep(): Promise<number> {
    const now = this.clock.now();
    const since = (this.sweptAt ?? now - this.settings.firstLookbackMs) - MARGIN_MS;
    const apps = await this.directory.createdSince(since, now);
    const titles = [...new Set(apps.map((app) => app.title))];
    const records = new Map<string, DatabaseRecord>();
    for (let i = 0; i < titles.length; i += NAMES_PER_QUERY) {
      for (const record of await this.store.findRecordsByName(titles.slice(i, i + NAMES_PER_QUERY))) {
        records.set(record.name, record);
      }
    }
    let deleted = 0;
    for (const app of apps) {
      const record = records.get(app.title);
      if (!record || record.status === 'provisioning') continue;
      // A restore names its new app (titled as the record) before creating it, and the records are read after the listing.
      if (app.id === record.instantAppId || app.id === record.pendingAppId) continue;
      if (!madeAfter(app, record.createdAt)) continue;
      await withDeadline(
        this.clock,
        this.settings.requestTimeoutMs,
        (signal) => this.platform.deleteApp(app.id, signal),
        () => new PlatformError('timeout', 'the Platform API did not answer in time'),
      );
      deleted++;
      this.telemetry.orphanDeleted(app.id);
      this.logger.info(
        { taskId: record.taskId, databaseId: record.id, appId: app.id, databaseName: record.name },
        'deleted orphan app',
      );
    }
    this.sweptAt = now;
    return deleted;
  }
}
