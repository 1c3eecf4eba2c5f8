import type { Feed, FeedHandlers, FeedWatch } from '../../src/core/ports.js';
import type { DatabaseRecord, UnlinkedTask } from '../../src/core/types.js';

/** A subscription feed a test drives by hand: push snapshots, fail, close. */
export class FakeFeed implements Feed {
  private readonly watchers = new Set<FeedHandlers>();

  /** The owners that asked to watch, for assertions. */
  readonly owners: string[] = [];

  /** The sizes the task window was set to, in order. */
  readonly taskWindows: number[] = [];

  watch(handlers: FeedHandlers, owner: string): FeedWatch {
    this.owners.push(owner);
    this.watchers.add(handlers);
    return {
      stop: () => void this.watchers.delete(handlers),
      resizeTasks: (limit) => void this.taskWindows.push(limit),
    };
  }

  get watching(): number {
    return this.watchers.size;
  }

  /** Unlinked tasks, as the window shows them; a bare id is a task with no owner, not forked. */
  pushTasks(tasks: Array<string | UnlinkedTask>): void {
    const shown = tasks.map((task) =>
      typeof task === 'string' ? { id: task, ownerId: null, forkedFrom: null } : task,
    );
    for (const watcher of this.watchers) watcher.onUnlinkedTasks(shown);
  }

  pushRetryRequests(records: DatabaseRecord[]): void {
    for (const watcher of this.watchers) watcher.onRetryRequests(records);
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
