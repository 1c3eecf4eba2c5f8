/** `backup` as pure logic: which records, the concurrency cap, resuming, failures, the fenced figures. */
import PQueue from 'p-queue';
import { describe, expect, it } from 'vitest';
import {
  backupDatabases,
  type ArchiveSummary,
  type BackupArchives,
  type BackupEntry,
  type BackupFailure,
} from '../../src/core/operations/backup-databases.js';
import { silentLogger } from '../../src/core/logger.js';
import { CopyError, StoreError } from '../../src/errors.js';
import { FakeStore } from '../fakes/fake-store.js';

const HOME = 'https://instant.example.com';

class FakeArchives implements BackupArchives {
  readonly complete_ = new Map<string, ArchiveSummary>();
  readonly written: string[] = [];
  readonly failing = new Map<string, Error>();
  index: { entries: BackupEntry[]; failed: BackupFailure[] } | null = null;
  inFlight = 0;
  maxInFlight = 0;
  clock = 1_000;

  async complete(taskId: string, appId: string) {
    const archive = this.complete_.get(taskId);
    return archive && archive.appId === appId ? archive : null;
  }

  async write(
    taskId: string,
    app: { appId: string; adminToken: string },
    _signal: AbortSignal,
    onEntities: (n: number) => void,
  ) {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    this.inFlight--;
    const failure = this.failing.get(taskId);
    if (failure) throw failure;
    expect(app.adminToken).toBe(`token-${taskId}`);
    onEntities(10);
    this.written.push(taskId);
    const archive = summary(app.appId, ++this.clock);
    this.complete_.set(taskId, archive);
    return archive;
  }

  async writeIndex(entries: BackupEntry[], failed: BackupFailure[]) {
    this.index = { entries, failed };
  }
}

function summary(appId: string, finishedAt: number): ArchiveSummary {
  return { appId, entityCount: 10, sizeBytes: 1_234, checksum: 'c'.repeat(64), namespaces: {}, finishedAt };
}

function world(records = 6) {
  const store = new FakeStore();
  for (let n = 0; n < records; n++) {
    const taskId = store.addTask(`task-${n}`);
    store.putRecord({
      id: `db-${n}`,
      taskId,
      name: `name-${n}`,
      status: n === 5 ? 'provisioning' : 'ready',
      instantAppId: n === 5 ? null : `app-${n}`,
      adminToken: n === 5 ? null : `sealed-${taskId}`,
    });
  }
  const archives = new FakeArchives();
  const deps = {
    store,
    archives,
    openToken: (_record: unknown, stored: string) => {
      if (stored === 'sealed-task-3') throw new Error('sealed admin token fails authentication under key id "k1"');
      return stored.replace('sealed-', 'token-');
    },
    slots: new PQueue({ concurrency: 2 }),
    logger: silentLogger,
    owner: 'me',
  };
  return { store, archives, deps };
}

describe('backupDatabases', () => {
  it('archives every ready database, at most `concurrency` at once, and records the figures fenced', async () => {
    const { store, archives, deps } = world();
    const progress: number[] = [];
    const result = await backupDatabases(
      deps,
      { tasks: 'all', pageSize: 2, home: HOME },
      new AbortController().signal,
      (p) => progress.push(p.done),
    );
    expect(result.backedUp.map((entry) => entry.taskId)).toEqual(['task-0', 'task-1', 'task-2', 'task-4']);
    expect(result.failed).toEqual([
      {
        taskId: 'task-3',
        reason: 'cannot open the stored admin token (sealed admin token fails authentication under key id "k1")',
      },
    ]);
    expect(archives.maxInFlight).toBe(2);
    expect(store.recordOf('task-0')).toMatchObject({ entityCount: 10, sizeBytes: 1_234, generation: 2 });
    expect(store.recordOf('task-0')!.lastBackupAt).toBeGreaterThan(1_000);
    expect(store.recordOf('task-5')!.lastBackupAt).toBeNull(); // provisioning: not backed up
    expect(archives.index!.entries.map((entry) => entry.taskId).sort()).toEqual([
      'task-0',
      'task-1',
      'task-2',
      'task-4',
    ]);
    expect(archives.index!.failed).toHaveLength(1);
    expect(progress.at(-1)).toBe(5);
  });

  it('run again, skips complete archives, still writing figures a crash left unrecorded', async () => {
    const { store, archives, deps } = world();
    archives.complete_.set('task-1', summary('app-1', 500)); // finished, then the process died before the record
    archives.complete_.set('task-2', summary('app-other', 600)); // of the app the task had before: stale
    const result = await backupDatabases(
      deps,
      { tasks: ['task-1', 'task-2'], pageSize: 10, home: HOME },
      new AbortController().signal,
    );
    expect(result.alreadyComplete.map((entry) => entry.taskId)).toEqual(['task-1']);
    expect(result.backedUp.map((entry) => entry.taskId)).toEqual(['task-2']);
    expect(archives.written).toEqual(['task-2']);
    expect(store.recordOf('task-1')).toMatchObject({ lastBackupAt: 500, generation: 2 });

    // A third run changes nothing at all: no copy, no write.
    const again = await backupDatabases(
      deps,
      { tasks: ['task-1', 'task-2'], pageSize: 10, home: HOME },
      new AbortController().signal,
    );
    expect(again.alreadyComplete).toHaveLength(2);
    expect(archives.written).toEqual(['task-2']);
    expect(store.recordOf('task-1')!.generation).toBe(2);
  });

  it('reports each failure with its reason: a copy error, an unknown task, a record moved meanwhile', async () => {
    const { store, archives, deps } = world();
    archives.failing.set(
      'task-0',
      new CopyError('token-rejected', "POST /admin/query: the app's admin token or id was not accepted"),
    );
    store.failNext('update', new StoreError('unique-violation', 'fence', { etype: 'databaseFences', label: 'key' }));
    const result = await backupDatabases(
      deps,
      { tasks: ['task-0', 'task-1', 'nope'], pageSize: 10, home: HOME },
      new AbortController().signal,
    );
    expect(result.failed).toEqual([
      { taskId: 'task-0', reason: "POST /admin/query: the app's admin token or id was not accepted" },
      { taskId: 'nope', reason: 'no ready database for this task' },
    ]);
    // The fence conflict was read again and written on the fresh generation.
    expect(result.backedUp.map((entry) => entry.taskId)).toEqual(['task-1']);
    expect(store.recordOf('task-1')).toMatchObject({ entityCount: 10 });
  });

  it('leaves databases on another server to a backup run against that server', async () => {
    const { store, archives, deps } = world();
    store.recordOf('task-1')!.apiUri = 'https://api.instantdb.com';
    store.recordOf('task-2')!.apiUri = `${HOME}/`; // the same server, written another way
    const progress: number[] = [];
    const all = await backupDatabases(
      deps,
      { tasks: 'all', pageSize: 10, home: HOME },
      new AbortController().signal,
      (p) => progress.push(p.done),
    );
    expect(all.elsewhere).toBe(1);
    expect(archives.written.sort()).toEqual(['task-0', 'task-2', 'task-4']);
    expect(store.recordOf('task-1')!.lastBackupAt).toBeNull();
    expect(progress.at(-1)).toBe(5);

    const one = await backupDatabases(
      deps,
      { tasks: ['task-1'], pageSize: 10, home: HOME },
      new AbortController().signal,
    );
    expect(one.failed).toEqual([
      {
        taskId: 'task-1',
        reason: `its database lives on https://api.instantdb.com, not on ${HOME}: back it up with that server's INSTANT_API_URI`,
      },
    ]);
    expect(archives.written).toHaveLength(3);
  });
});
