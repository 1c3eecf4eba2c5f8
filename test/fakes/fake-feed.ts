import type { Feed, FeedHandlers } from '../../src/core/ports.js';
import type { DatabaseRecord } from '../../src/core/types.js';

/** A subscription feed a test drives by hand: push snapshots, fail, close. */
export class FakeFeed implements Feed {
  private readonly watchers = new Set<FeedHandlers>();

  /** The owners that asked to watch, for assertions. */
  readonly owners: string[] = [];

  watch(handlers: FeedHandlers, owner: string): () => void {
    this.owners.push(owner);
    this.watchers.add(handlers);
    return () => this.watchers.delete(handlers);
  }

  get watching(): number {
    return this.watchers.size;
  }

  pushTasks(taskIds: string[]): void {
    for (const watcher of this.watchers) watcher.onUnlinkedTasks(taskIds);
  }

  pushRecords(records: DatabaseRecord[]): void {
    for (const watcher of this.watchers) watcher.onUnfinishedRecords(records);
  }

  pushDetached(records: DatabaseRecord[]): void {
    for (const watcher of this.watchers) watcher.onDetachedRecords(records);
  }

  fail(error: Error): void {
    for (const watcher of this.watchers) watcher.onError(error);
  }

  /** Ends every watch, as a dropped subscription that is never resumed would. */
  close(): void {
    this.watchers.clear();
  }
}
