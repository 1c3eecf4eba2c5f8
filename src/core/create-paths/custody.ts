/**
 * What this process knows about the records it holds beyond what the records
 * say: whether one of its creates may have made an app that no record holds
 * yet, and when such a create can no longer land. Kept by task id; the work
 * queue never runs two passes of one task at once, so entries are never
 * written concurrently.
 *
 * An entry moves through: fresh (claimed by us, nothing sent) → sent (an app may
 * exist, and may still land until `notBefore`) → made (we hold its admin token)
 * or answered (nothing made, or maybe made) → cleared (apps by its title were
 * removed) → forgotten (the record is finished, gone or someone else's).
 */
import type { CreatedApp } from '../types.js';

export class Custody {
  /** A create may have made an app that is not recorded... */
  mayHaveApp: boolean;
  /** ...and it may still land until then (epoch ms). */
  notBefore: number;
  /** An app we created but have not recorded yet. */
  createdApp: CreatedApp | undefined;

  constructor(
    /** The record this is about; a task whose record was replaced starts afresh. */
    readonly recordId: string,
    mayHaveApp: boolean,
    notBefore: number,
  ) {
    this.mayHaveApp = mayHaveApp;
    this.notBefore = notBefore;
  }

  /** A create is about to be sent: from now on an app may exist, landing until `notBefore`. */
  createSent(notBefore: number): void {
    this.mayHaveApp = true;
    this.notBefore = notBefore;
  }

  /** The create answered with an app. */
  appMade(app: CreatedApp): void {
    this.createdApp = app;
  }

  /** The create failed; whether it may have made an app, and until when one may land. */
  createFailed(mayHaveCreated: boolean, notBefore: number): void {
    this.mayHaveApp = mayHaveCreated;
    this.notBefore = notBefore;
  }

  /** Apps titled with the record's name were looked for and removed. */
  appsRemoved(): void {
    this.mayHaveApp = false;
  }

  /** The app we made was deleted (or handed to the title sweep if that failed). */
  appDiscarded(now: number): void {
    this.createdApp = undefined;
    this.mayHaveApp = true;
    this.notBefore = now;
  }

  /** Nothing of ours can be lying around for this record. */
  get clean(): boolean {
    return !this.mayHaveApp && this.createdApp === undefined;
  }
}

/** Custody entries by task id; bounded by the work in flight. */
export class CustodyBook {
  private readonly entries = new Map<string, Custody>();

  get(taskId: string): Custody | undefined {
    return this.entries.get(taskId);
  }

  /** We just claimed the record: no create was ever sent for it. */
  claimed(taskId: string, recordId: string): Custody {
    return this.set(taskId, new Custody(recordId, false, 0));
  }

  /**
   * We hold a record we remember nothing of (a takeover, or a restart): assume
   * the worst, an unrecorded app that has landed by `now`.
   */
  assumeUnknown(taskId: string, recordId: string, now: number): Custody {
    return this.set(taskId, new Custody(recordId, true, now));
  }

  /** The entry for `recordId`, or a worst-case one when we remember another record or none. */
  of(taskId: string, recordId: string, now: number): Custody {
    const custody = this.entries.get(taskId);
    return custody?.recordId === recordId ? custody : this.assumeUnknown(taskId, recordId, now);
  }

  forget(taskId: string): void {
    this.entries.delete(taskId);
  }

  get size(): number {
    return this.entries.size;
  }

  private set(taskId: string, custody: Custody): Custody {
    this.entries.set(taskId, custody);
    return custody;
  }
}
