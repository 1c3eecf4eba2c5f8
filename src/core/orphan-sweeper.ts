/**
 * Deletes apps that carry a finished record's name but are not that record's app.
 *
 * Reconciling a record already removes the apps a lost create left behind before
 * creating again. This sweep catches what that cannot: an app made by a daemon
 * that lost its record to another daemon and died before deleting it. It only
 * touches apps whose title is the name of a `ready` or `failed` record (nobody
 * creates for those any more) and that were created after the record, so other
 * apps of the same account are never at risk.
 */
import type { Clock } from '../clock.js';
import { PlatformError } from '../errors.js';
import { withDeadline } from './deadline.js';
import { madeAfter, type AppDirectory } from './app-directory.js';
import type { Logger } from './logger.js';
import type { PlatformClient, Store } from './ports.js';
import type { DatabaseRecord } from './types.js';

const NAMES_PER_QUERY = 100;

export class OrphanSweeper {
  constructor(
    private readonly directory: AppDirectory,
    private readonly store: Store,
    private readonly platform: PlatformClient,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly requestTimeoutMs: number,
  ) {}

  /** Returns how many orphans were deleted. */
  async sweep(): Promise<number> {
    const apps = await this.directory.listAll(this.clock.now());
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
      if (!record || (record.status !== 'ready' && record.status !== 'failed')) continue;
      if (app.id === record.instantAppId || !madeAfter(app, record.createdAt)) continue;
      await withDeadline(
        this.clock,
        this.requestTimeoutMs,
        (signal) => this.platform.deleteApp(app.id, signal),
        () => new PlatformError('timeout', 'the Platform API did not answer in time'),
      );
      deleted++;
      this.logger.info(
        { taskId: record.taskId, databaseId: record.id, appId: app.id, databaseName: record.name },
        'deleted orphan app',
      );
    }
    return deleted;
  }
}
