/**
 * What every phase of a reconcile pass shares: the ports, the settings, and the few operations
 * all phases use (fenced writes, leases, the attempt budget). How a record's app comes to exist,
 * and what is left to clean up when it does not, is the AppCreator's (app-creator.ts).
 */
import type { Clock } from '../clock.js';
import { StoreError } from '../errors.js';
import type { AppCreator } from './app-creator.js';
import { KeyedLock } from './keyed-lock.js';
import { foreignLeaseWaitMs, isImplausibleLease, leaseCoversCreate } from './lease.js';
import type { Logger } from './logger.js';
import { noTelemetry, type AppCopier, type Store, type Telemetry, type UpdateOptions } from './ports.js';
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
  /** The server this daemon makes apps on (normalized API URI). */
  apiUri: string;
  leaseMs: number;
  requestTimeoutMs: number;
  /** Added after a request timeout before its effects count as final; also covers clock skew. */
  settleMarginMs: number;
  /** Transient failures are retried until this long after the first attempt, then the record fails. */
  giveUpAfterMs: number;
  /** An optional cap on creates tried per database, whichever of the two comes first. */
  maxAttempts: number | undefined;
  backoff: BackoffPolicy;
  retirement: RetirementPolicy;
  /** At most this many databases per owner that hold, or will hold, an app; undefined: no cap. */
  maxDatabasesPerOwner: number | undefined;
  /** A fork whose source is gone or failed: fail it (with why), or make its app from the template. */
  forkSourceMissing: 'fail' | 'template';
}

export interface ReconcilerDeps {
  store: Store;
  /** Makes sure a record's app exists: chosen ids or title lookup (src/core/create-paths). */
  creator: AppCreator;
  /** Copies a fork's source data into its app (src/copy). */
  copier: AppCopier;
  clock: Clock;
  logger: Logger;
  random: () => number;
  newId: () => string;
  newName: () => string;
  /** What every new app is created with; its hash is recorded on each ready record. */
  template: AppTemplate;
  telemetry?: Telemetry;
  /** An owner's databases went down by one: a refused one of theirs may now be made. */
  ownerFreed?: (ownerId: string) => void;
}

/** Statuses whose databases hold, or will hold, an app: what the per-owner cap counts. */
const COUNTED = new Set(['provisioning', 'copying', 'ready']);

/** The result of a fenced write: the record as written, or why it was not. */
export type Written = DatabaseRecord | 'lost' | 'gone';

export class ReconcileContext {
  /** Claims of one owner, one at a time, while a per-owner cap is kept (see create-phase.ts). */
  readonly ownerLocks = new KeyedLock();

  constructor(
    readonly deps: ReconcilerDeps,
    readonly settings: ReconcilerSettings,
  ) {}

  get now(): number {
    return this.deps.clock.now();
  }

  get creator(): AppCreator {
    return this.deps.creator;
  }

  get copier(): AppCopier {
    return this.deps.copier;
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
    if (changes.status !== undefined && changes.status !== record.status) this.statusChanged(record, changes.status);
    return applyChanges(record, changes);
  }

  /** Tells the world a record moved from its status to `to` (null: removed). */
  statusChanged(record: DatabaseRecord, to: string | null): void {
    this.telemetry.statusChanged(record.status, to);
    const counted = (status: string | null) => status !== null && COUNTED.has(status);
    if (record.ownerId && counted(record.status) && !counted(to)) this.deps.ownerFreed?.(record.ownerId);
  }

  /** A fenced write that takes (or renews) our lease on the record. */
  lease(record: DatabaseRecord, changes: RecordChanges = {}): Promise<Written> {
    return this.write(record, {
      ...changes,
      leaseOwner: this.settings.owner,
      leaseExpiresAt: this.now + this.settings.leaseMs,
    });
  }

  /** True when our lease outlives a create sent now by its timeout plus the margin (rule 2). */
  leaseCovers(record: DatabaseRecord, now: number): boolean {
    return leaseCoversCreate(record, now, this.settings);
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

  /**
   * Why no more creates are tried for the record, or null while it may go on: the optional cap on
   * attempts, or the time budget counted from its first attempt (transient failures only; a
   * refusal fails at once).
   */
  budgetSpent(record: DatabaseRecord, now: number): string | null {
    const { maxAttempts, giveUpAfterMs } = this.settings;
    const last = record.error ? `; last error: ${record.error}` : '';
    if (maxAttempts !== undefined && record.attempts >= maxAttempts)
      return `gave up after ${record.attempts} attempts (--max-attempts)${last}`;
    if (record.firstAttemptAt !== null && now - record.firstAttemptAt >= giveUpAfterMs)
      return `gave up after ${record.attempts} attempts over ${Math.round((now - record.firstAttemptAt) / 1000)} s (--give-up-after)${last}`;
    return null;
  }

  get telemetry(): Telemetry {
    return this.deps.telemetry ?? noTelemetry;
  }
}

function applyChanges(record: DatabaseRecord, changes: RecordChanges): DatabaseRecord {
  const next = { ...record, generation: record.generation + 1 };
  if (changes.status !== undefined) next.status = changes.status;
  if (changes.instantAppId !== undefined) next.instantAppId = changes.instantAppId;
  if (changes.createdVia !== undefined) next.createdVia = changes.createdVia;
  if (changes.attempts !== undefined) next.attempts = changes.attempts;
  if (changes.firstAttemptAt !== undefined) next.firstAttemptAt = changes.firstAttemptAt;
  if (changes.apiUri !== undefined) next.apiUri = changes.apiUri;
  if (changes.retryHonouredAt !== undefined) next.retryHonouredAt = changes.retryHonouredAt;
  if (changes.taskId !== undefined) next.taskId = changes.taskId;
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
