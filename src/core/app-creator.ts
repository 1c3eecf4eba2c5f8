/**
 * The one question the reconciler asks about a record's app: "make sure it exists". How that is
 * done depends on who chooses the app's id, so it sits behind this port with one adapter per way
 * (src/core/create-paths): ChosenIdCreator, where the record names its app from the claim on and
 * a create can be sent again safely, and TitleLookupCreator, where the server picks the id and an
 * app whose answer was lost is found by the record's name. The composition root picks them once.
 *
 * Besides the question itself, the port answers what only the way of creating knows: what a claim
 * writes, what must be cleaned up when a record ends without its app, and what this process
 * remembers about records it holds (an app it made but has not recorded, a create that may still
 * land). Every method is called for one task at a time (the work queue never runs a task twice at
 * once).
 */
import type { PlatformError } from '../errors.js';
import type { Logger } from './logger.js';
import type { AppTemplate, CreatedApp, CreatePath, DatabaseRecord } from './types.js';

/** What `ensureApp` found. */
export type Ensured =
  /** The app exists, with its rules and schema: record it. */
  | { kind: 'app'; app: CreatedApp }
  /** Not now, through no fault of the task (a pause for everyone, a create that may still land): come back later. */
  | { kind: 'wait'; afterMs: number }
  /** A create failed in a way that may pass later (5xx, no answer): one attempt spent. */
  | { kind: 'failed'; error: PlatformError; sentAt: number }
  /** The server refused for good (a 4xx that will not change): the record fails with the reason. */
  | { kind: 'refused'; error: PlatformError }
  /** The app the record names can never be made (its id is someone else's, or was deleted): name a new one. */
  | { kind: 'renew'; reason: string };

export interface AppCreator {
  /** How this daemon's claims make their apps (logs, readiness, metrics). */
  readonly path: CreatePath;

  /** The app a new claim names: a fresh chosen id and admin token, or null when the server will choose. */
  appForClaim(): CreatedApp | null;

  /** A claim (or a renewal) made the record name `app` (or none); this process now holds it. */
  claimed(record: DatabaseRecord, app: CreatedApp | null): void;

  /**
   * Makes sure the record's app exists, made with `template` (the daemon's, or a fork's source's),
   * creating it under the create gate and the concurrency cap.
   */
  ensureApp(record: DatabaseRecord, template: AppTemplate, log: Logger, signal: AbortSignal): Promise<Ensured>;

  /**
   * After a `failed` attempt was recorded on the record (fenced): how long the next try must wait
   * at least (a create that may still land), or 'at-once' when it may go right away whatever the
   * backoff says (the lost app was found and deleted, or an idempotent create is resent once).
   */
  afterFailedAttempt(record: DatabaseRecord, error: PlatformError, log: Logger): Promise<number | 'at-once'>;

  /**
   * Deletes every app the record has or may have (its task is gone, it failed, or it retires).
   * Resolves with 0 when done, or with how long to wait first while a create may still land.
   */
  removeApps(record: DatabaseRecord, log: Logger): Promise<number>;

  /** We took the record over from another daemon (or hold one we remember nothing of): assume the worst. */
  tookOver(record: DatabaseRecord): void;

  /** Deletes, best effort, an app we made that cannot be recorded (its task or record is gone). */
  discard(record: DatabaseRecord, app: CreatedApp, log: Logger): Promise<void>;

  /**
   * The record is finished, gone or someone else's: forget it, and delete an app this process made
   * for the task that `record` (the record as it stands now, or null) does not hold.
   */
  release(taskId: string, record: DatabaseRecord | null, log: Logger): Promise<void>;

  /** Forgets the task (the record reached a state this process has nothing more to do for). */
  forget(taskId: string): void;

  /** True when nothing this process sent for the record can still land or lie around unrecorded. */
  settled(record: DatabaseRecord): boolean;

  /** Tasks this process remembers something about (bounded by the work in flight); for tests. */
  readonly remembered: number;
}
