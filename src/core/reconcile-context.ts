/**
 * What every phase of a reconcile pass shares: the ports, the settings, the
 * custody book, and the few operations all phases use (fenced writes, app
 * deletes, the look-by-title rule).
 */
import type PQueue from 'p-queue';
import type { Clock } from '../clock.js';
import { PlatformError, StoreError } from '../errors.js';
import { madeAfter, type AppDirectory } from './app-directory.js';
import type { CreateGate } from './create-gate.js';
import { CustodyBook } from './custody.js';
import { withDeadline } from './deadline.js';
import { foreignLeaseWaitMs, isImplausibleLease } from './lease.js';
import type { Logger } from './logger.js';
import { noTelemetry, type PlatformClient, type Store, type Telemetry, type UpdateOptions } from './ports.js';
import type { BackoffPolicy } from './retry-policy.js';
import type { RetirementPolicy } from './retirement.js';
import type { AppTemplate, DatabaseRecord, RecordChanges, TaskResult } from './types.js';

/** What a pass concluded; the driver turns it into queue actions. */
export type Outcome =
  /** Nothing more to do for now. */
  | { kind: 'done'; result: TaskResult }
  /** Come back after `afterMs` (backoff, a create that may still land, a lost race). */
  | { kind: 'retry'; afterMs: number }
  /** Another daemon holds the record until `afterMs` from now. */
  | { kind: 'leased'; afterMs: number };

export const done = (result: TaskResult): Outcome => ({ kind: 'done', result });
export const retry = (afterMs: number): Outcome => ({ kind: 'retry', afterMs: Math.max(0, afterMs) });

export interface ReconcilerSettings {
  /** This process's lease owner id; unique per process start. */
  owner: string;
  leaseMs: number;
  requestTimeoutMs: number;
  /** Added after a request timeout before its effects count as final; also covers clock skew. */
  settleMarginMs: number;
  maxAttempts: number;
  backoff: BackoffPolicy;
  retirement: RetirementPolicy;
}

export interface ReconcilerDeps {
  store: Store;
  platform: PlatformClient;
  directory: AppDirectory;
  gate: CreateGate;
  /** Caps concurrent Platform creates. */
  createSlots: PQueue;
  clock: Clock;
  logger: Logger;
  random: () => number;
  newId: () => string;
  newName: () => string;
  /** What every new app is created with. */
  template: AppTemplate;
  telemetry?: Telemetry;
}

/** The result of a fenced write: the record as written, or why it was not. */
export type Written = DatabaseRecord | 'lost' | 'gone';

export class ReconcileContext {
  readonly custody = new CustodyBook();

  constructor(
    readonly deps: ReconcilerDeps,
    readonly settings: ReconcilerSettings,
  ) {}

  get now(): number {
    return this.deps.clock.now();
  }

  /**
   * A fenced write. Returns the record as written, 'lost' when another writer
   * moved the record first, 'gone' when the record (or, with requireTask, the
   * task) no longer exists.
   */
  async write(record: DatabaseRecord, changes: RecordChanges, options: UpdateOptions = {}): Promise<Written> {
    try {
      await this.deps.store.update(record, this.settings.owner, changes, options);
    } catch (error) {
      if (isUniqueViolation(error, 'databaseFences', 'key')) return 'lost';
      if (error instanceof StoreError && error.kind === 'missing-entity') return 'gone';
      throw error;
    }
    return applyChanges(record, changes);
  }

  /** A fenced write that takes (or renews) our lease on the record. */
  lease(record: DatabaseRecord, changes: RecordChanges = {}): Promise<Written> {
    return this.write(record, {
      ...changes,
      leaseOwner: this.settings.owner,
      leaseExpiresAt: this.now + this.settings.leaseMs,
    });
  }

  /** Deletes an app under the request deadline; an app already gone counts as deleted. */
  deleteApp(appId: string): Promise<void> {
    return withDeadline(
      this.deps.clock,
      this.settings.requestTimeoutMs,
      (signal) => this.deps.platform.deleteApp(appId, signal),
      () => new PlatformError('timeout', 'the Platform API did not answer in time'),
    );
  }

  /** Best-effort delete of an app we made but could not keep; others find it by title if this fails. */
  async discard(appId: string, log: Logger): Promise<void> {
    try {
      await this.deleteApp(appId);
    } catch (error) {
      log.warn(
        { appId, error: errorMessage(error) },
        'could not delete the app; it will be found by title and deleted later',
      );
    }
  }

  /**
   * Deletes apps titled with the record's name, except `keep`, from a listing
   * that started after `notBefore` (rule 3); returns how many. Apps older than
   * the record are someone else's and never touched.
   */
  async removeAppsTitled(record: DatabaseRecord, notBefore: number, keep: string | null, log: Logger): Promise<number> {
    const apps = await this.deps.directory.findByTitle(record.name, notBefore);
    let deleted = 0;
    for (const app of apps) {
      if (app.id === keep) continue;
      if (!madeAfter(app, record.createdAt)) {
        log.warn({ appId: app.id }, 'an app with this title predates the record; not ours, leaving it');
        continue;
      }
      await this.deleteApp(app.id);
      deleted++;
      this.telemetry.orphanDeleted(app.id);
      log.info({ appId: app.id, databaseName: record.name }, 'deleted orphan app');
    }
    return deleted;
  }

  /** True when our lease outlives a create sent now by its timeout plus the margin (rule 2). */
  leaseCovers(record: DatabaseRecord, now: number): boolean {
    return (
      record.leaseOwner === this.settings.owner &&
      record.leaseExpiresAt !== null &&
      record.leaseExpiresAt - now >= this.settings.requestTimeoutMs + this.settings.settleMarginMs
    );
  }

  /** Ms until another daemon's lease on the record may be taken over, or null if it may be now. */
  foreignLease(record: DatabaseRecord, now: number, log: Logger): number | null {
    if (isImplausibleLease(record, now, this.settings)) {
      log.warn(
        { leaseOwner: record.leaseOwner, leaseExpiresAt: record.leaseExpiresAt },
        'lease ends implausibly far in the future; treating it as expired',
      );
    }
    return foreignLeaseWaitMs(record, now, this.settings);
  }

  get telemetry(): Telemetry {
    return this.deps.telemetry ?? noTelemetry;
  }
}

function applyChanges(record: DatabaseRecord, changes: RecordChanges): DatabaseRecord {
  const next = { ...record, generation: record.generation + 1 };
  if (changes.status !== undefined) next.status = changes.status;
  if (changes.instantAppId !== undefined) next.instantAppId = changes.instantAppId;
  if (changes.attempts !== undefined) next.attempts = changes.attempts;
  if (changes.error !== undefined) next.error = changes.error;
  if (changes.leaseOwner !== undefined) next.leaseOwner = changes.leaseOwner;
  if (changes.leaseExpiresAt !== undefined) next.leaseExpiresAt = changes.leaseExpiresAt;
  if (changes.detachedAt !== undefined) next.detachedAt = changes.detachedAt;
  if (changes.templateHash !== undefined) next.templateHash = changes.templateHash;
  if (changes.readyAt !== undefined) next.readyAt = changes.readyAt;
  return next;
}

export function isUniqueViolation(error: unknown, etype: string, label: string): boolean {
  return (
    error instanceof StoreError && error.kind === 'unique-violation' && error.etype === etype && error.label === label
  );
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
