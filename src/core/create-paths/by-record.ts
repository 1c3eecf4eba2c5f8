/**
 * A daemon's create path: new claims go the way this server allows (chosen ids where it can, else
 * server ids), and every record is finished the way it was claimed (`createdVia`). So a record
 * claimed by a daemon on the other path, during a rolling change, is worked on by that path's
 * rules: a server-id record is still looked for by title before a create, and a chosen-id record
 * keeps its app (adopted where this server cannot create with chosen ids, see ChosenIdCreator).
 */
import type { AppCreator, Ensured } from '../app-creator.js';
import type { Logger } from '../logger.js';
import type { PlatformError } from '../../errors.js';
import type { AppTemplate, CreatedApp, CreatePath, DatabaseRecord } from '../types.js';
import type { ChosenIdCreator } from './chosen-id.js';
import type { TitleLookupCreator } from './title-lookup.js';

export class CreatorByRecord implements AppCreator {
  constructor(
    /** How this daemon's own claims make their apps. */
    private readonly forClaims: CreatePath,
    private readonly chosen: ChosenIdCreator,
    private readonly titled: TitleLookupCreator,
  ) {}

  get path(): CreatePath {
    return this.forClaims;
  }

  appForClaim(): CreatedApp | null {
    return this.forClaims === 'chosen-id' ? this.chosen.appForClaim() : this.titled.appForClaim();
  }

  claimed(record: DatabaseRecord, app: CreatedApp | null): void {
    this.of(record).claimed(record, app);
  }

  ensureApp(record: DatabaseRecord, template: AppTemplate, log: Logger, signal: AbortSignal): Promise<Ensured> {
    return this.of(record).ensureApp(record, template, log, signal);
  }

  afterFailedAttempt(record: DatabaseRecord, error: PlatformError, log: Logger): Promise<number | 'at-once'> {
    return this.of(record).afterFailedAttempt(record, error, log);
  }

  removeApps(record: DatabaseRecord, log: Logger): Promise<number> {
    return this.of(record).removeApps(record, log);
  }

  tookOver(record: DatabaseRecord): void {
    this.of(record).tookOver(record);
  }

  discard(record: DatabaseRecord, app: CreatedApp, log: Logger): Promise<void> {
    return this.of(record).discard(record, app, log);
  }

  async release(taskId: string, record: DatabaseRecord | null, log: Logger): Promise<void> {
    // Either path may remember the task (a record renewed from one path to the other).
    await this.chosen.release(taskId, record, log);
    await this.titled.release(taskId, record, log);
  }

  forget(taskId: string): void {
    this.chosen.forget(taskId);
    this.titled.forget(taskId);
  }

  settled(record: DatabaseRecord): boolean {
    return this.chosen.settled(record) && this.titled.settled(record);
  }

  get remembered(): number {
    return this.chosen.remembered + this.titled.remembered;
  }

  private of(record: DatabaseRecord): AppCreator {
    return record.createdVia === 'chosen-id' ? this.chosen : this.titled;
  }
}
