import type { ClaimInput, RecordCatalog, Store, StoredTokens, UpdateOptions } from '../../src/core/ports.js';
import {
  addToBackupTotals,
  emptyBackupTotals,
  type BackupTotals,
  DATABASE_STATUSES,
  type DatabaseRecord,
  type RecordChanges,
  type RecordVersion,
  type TaskState,
  type UnlinkedTask,
} from '../../src/core/types.js';
import { StoreError } from '../../src/errors.js';

export interface StoredRecord extends DatabaseRecord {
  adminToken: string | null;
  pendingAdminToken?: string | null;
  readyAt: number | null;
}

interface StoredTask {
  id: string;
  seq: number;
  mainDatabaseId: string | null;
  ownerId: string | null;
  forkedFrom: string | null;
  retryRequestedAt: number | null;
}

type Operation = 'loadTask' | 'claim' | 'update' | 'delete' | 'link' | 'list';

const unique = (etype: string, label: string) =>
  new StoreError('unique-violation', `\`${label}\` is a unique attribute on \`${etype}\``, {
    status: 400,
    etype,
    label,
  });
const missing = (id: string) =>
  new StoreError('missing-entity', `Updating entities that don't exist: ${id}`, { status: 400 });

/**
 * The main app in memory, with the semantics the daemon relies on: unique
 * taskId / name / instantAppId / fence keys, `upsert: false` guards, has-one links,
 * and atomic operations. `failNext` injects failures.
 */
export class FakeStore implements Store, RecordCatalog {
  readonly tasks = new Map<string, StoredTask>();
  readonly records = new Map<string, StoredRecord & { seq: number }>();
  readonly fences = new Set<string>();
  private seq = 0;
  private taskCounter = 0;
  private readonly failures: Array<{ op: Operation; error: Error }> = [];
  /** Runs before every operation (after injected failures); may throw or wait. */
  beforeOperation: (op: Operation) => void | Promise<void> = () => {};
  readonly counts: Record<Operation, number> = { loadTask: 0, claim: 0, update: 0, delete: 0, link: 0, list: 0 };

  addTask(
    id = `00000000-0000-4000-8000-${String(++this.taskCounter).padStart(12, '0')}`,
    fields: { ownerId?: string | null; forkedFrom?: string | null } = {},
  ): string {
    this.tasks.set(id, {
      id,
      seq: this.seq++,
      mainDatabaseId: null,
      ownerId: fields.ownerId ?? null,
      forkedFrom: fields.forkedFrom ?? null,
      retryRequestedAt: null,
    });
    return id;
  }

  deleteTask(id: string): void {
    this.tasks.delete(id);
  }

  /** Makes the next `op` fail with `error`. */
  failNext(op: Operation, error: Error): void {
    this.failures.push({ op, error });
  }

  /** Adds a record as if written by someone else (another daemon, or a person). */
  putRecord(record: Partial<StoredRecord> & Pick<DatabaseRecord, 'id' | 'taskId' | 'name'>, link = true): void {
    this.records.set(record.id, {
      status: 'provisioning',
      instantAppId: null,
      attempts: 0,
      error: null,
      createdAt: 0,
      leaseOwner: null,
      leaseExpiresAt: null,
      generation: 1,
      adminToken: null,
      readyAt: null,
      lastBackupAt: null,
      entityCount: null,
      sizeBytes: null,
      detachedAt: null,
      templateHash: null,
      createdVia: 'server-id',
      firstAttemptAt: null,
      apiUri: null,
      ownerId: null,
      originIterationId: null,
      retryHonouredAt: null,
      ...record,
      seq: this.seq++,
    });
    const task = this.tasks.get(record.taskId);
    if (task && link) task.mainDatabaseId = record.id;
  }

  recordOf(taskId: string): StoredRecord | undefined {
    return [...this.records.values()].find((record) => record.taskId === taskId);
  }

  async loadTask(taskId: string): Promise<TaskState> {
    await this.enter('loadTask');
    const task = this.tasks.get(taskId);
    const record = this.recordOf(taskId);
    return {
      task: task
        ? {
            id: task.id,
            ownerId: task.ownerId,
            forkedFrom: task.forkedFrom,
            mainDatabaseId: this.linkedRecord(task),
            retryRequestedAt: task.retryRequestedAt,
          }
        : null,
      record: record ? toRecord(record) : null,
    };
  }

  /** Iterations, by id: the task each belongs to. */
  readonly iterations = new Map<string, string>();

  async loadIterationDatabase(iterationId: string): Promise<{ record: DatabaseRecord | null } | null> {
    await this.enter('loadTask');
    const taskId = this.iterations.get(iterationId);
    const task = taskId === undefined ? undefined : this.tasks.get(taskId);
    if (!task) return null;
    const recordId = this.linkedRecord(task);
    const record = recordId ? this.records.get(recordId) : undefined;
    return { record: record ? toRecord(record) : null };
  }

  /** Tasks whose claims the main app refuses (as a required attribute the daemon cannot fill would). */
  readonly refusedClaims = new Set<string>();

  /** The owner asks for another try at a failed database, as a browser writes it. */
  requestRetry(taskId: string, at: number): void {
    this.tasks.get(taskId)!.retryRequestedAt = at;
  }

  async claim(input: ClaimInput): Promise<void> {
    await this.enter('claim');
    if (this.refusedClaims.has(input.taskId))
      throw new StoreError('rejected', 'main app refused the request (validation-failed: Missing required attribute)', {
        status: 400,
      });
    if (this.recordOf(input.taskId)) throw unique('databases', 'taskId');
    if ([...this.records.values()].some((record) => record.name === input.name)) throw unique('databases', 'name');
    const { app } = input;
    if (app && [...this.records.values()].some((record) => record.instantAppId === app.id))
      throw unique('databases', 'instantAppId');
    const task = this.tasks.get(input.taskId);
    if (!task) throw missing(input.taskId);
    this.putRecord({
      id: input.recordId,
      taskId: input.taskId,
      name: input.name,
      createdAt: input.now,
      leaseOwner: input.owner,
      leaseExpiresAt: input.leaseExpiresAt,
      generation: 1,
      createdVia: input.createdVia,
      apiUri: input.apiUri,
      instantAppId: app?.id ?? null,
      adminToken: app?.adminToken ?? null,
      ownerId: input.ownerId,
      originIterationId: input.originIterationId,
      ...(input.refusedBecause
        ? { status: 'refused', error: input.refusedBecause, leaseOwner: null, leaseExpiresAt: null }
        : {}),
    });
  }

  async countDatabasesOf(ownerId: string, limit: number): Promise<number> {
    await this.enter('list');
    const counted = ['provisioning', 'copying', 'ready'];
    const count = [...this.records.values()].filter((r) => r.ownerId === ownerId && counted.includes(r.status)).length;
    return Math.min(count, limit);
  }

  async listRefusedRecords(limit: number, ownerId?: string): Promise<DatabaseRecord[]> {
    await this.enter('list');
    return [...this.records.values()]
      .filter((record) => record.status === 'refused' && (ownerId === undefined || record.ownerId === ownerId))
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map(toRecord);
  }

  /** Failed records whose task's owner asked for another try, as the retry-requests window shows them. */
  retryRequests(): DatabaseRecord[] {
    return [...this.records.values()]
      .filter((record) => record.status === 'failed' && this.tasks.get(record.taskId)?.retryRequestedAt != null)
      .sort((a, b) => a.seq - b.seq)
      .map(toRecord);
  }

  /** Makes readAdminToken fail as an envelope no configured key opens would. */
  unreadableTokens = false;

  async readAdminToken(recordId: string): Promise<string | null> {
    await this.enter('loadTask');
    if (this.unreadableTokens) throw new StoreError('rejected', 'the admin token cannot be opened');
    return this.records.get(recordId)?.adminToken ?? null;
  }

  async update(
    version: RecordVersion,
    _owner: string,
    changes: RecordChanges,
    options: UpdateOptions = {},
  ): Promise<void> {
    await this.enter('update');
    const key = `${version.id}/${version.generation + 1}`;
    if (this.fences.has(key)) throw unique('databaseFences', 'key');
    const record = this.records.get(version.id);
    if (!record) throw missing(version.id);
    const task = this.tasks.get(version.taskId);
    if ((options.requireTask || options.linkTask) && !task) throw missing(version.taskId);
    if (options.linkTask && this.linkedTaskOf(record.id, version.taskId)) throw unique('tasks', 'mainDatabase');
    if (
      changes.instantAppId &&
      [...this.records.values()].some((r) => r.id !== record.id && r.instantAppId === changes.instantAppId)
    ) {
      throw unique('databases', 'instantAppId');
    }
    if (options.clearRetryRequest && !task) throw missing(version.taskId);
    this.fences.add(key);
    Object.assign(record, changes, { generation: version.generation + 1 });
    if (options.linkTask) task!.mainDatabaseId = record.id;
    if (options.clearRetryRequest) task!.retryRequestedAt = null;
  }

  async delete(version: RecordVersion): Promise<void> {
    await this.enter('delete');
    const key = `${version.id}/${version.generation + 1}`;
    if (this.fences.has(key)) throw unique('databaseFences', 'key');
    this.records.delete(version.id);
    // As the real store does: the record's fences go with it.
    for (const fence of [...this.fences]) if (fence.startsWith(`${version.id}/`)) this.fences.delete(fence);
    for (const task of this.tasks.values()) if (task.mainDatabaseId === version.id) task.mainDatabaseId = null;
  }

  async link(taskId: string, recordId: string): Promise<void> {
    await this.enter('link');
    const task = this.tasks.get(taskId);
    if (!task) return;
    if ([...this.tasks.values()].some((other) => other.id !== taskId && other.mainDatabaseId === recordId)) {
      throw unique('tasks', 'mainDatabase');
    }
    task.mainDatabaseId = recordId;
  }

  async listUnlinkedTasks(limit: number): Promise<UnlinkedTask[]> {
    await this.enter('list');
    return this.unlinked()
      .slice(0, limit)
      .map((id) => {
        const task = this.tasks.get(id)!;
        return { id, ownerId: task.ownerId, forkedFrom: task.forkedFrom };
      });
  }

  async newestUnlinkedTask(): Promise<string | null> {
    await this.enter('list');
    return this.unlinked().at(-1) ?? null;
  }

  async listUnfinishedRecords(limit: number, exceptOwner?: string): Promise<DatabaseRecord[]> {
    await this.enter('list');
    const taskGone = (record: StoredRecord) =>
      ['ready', 'failed', 'refused'].includes(record.status) && !this.linkedTaskOf(record.id);
    const working = (record: StoredRecord) => record.status === 'provisioning' || record.status === 'copying';
    return [...this.records.values()]
      .filter(
        (record) =>
          (working(record) && (exceptOwner === undefined || record.leaseOwner !== exceptOwner)) || taskGone(record),
      )
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map(toRecord);
  }

  async listDetachedRecords(limit: number): Promise<DatabaseRecord[]> {
    await this.enter('list');
    return [...this.records.values()]
      .filter((record) => record.status === 'detached')
      .sort((a, b) => (a.detachedAt ?? 0) - (b.detachedAt ?? 0) || a.seq - b.seq)
      .slice(0, limit)
      .map(toRecord);
  }

  async listBrokenRecords(limit: number): Promise<DatabaseRecord[]> {
    await this.enter('list');
    const known: readonly string[] = DATABASE_STATUSES;
    return [...this.records.values()]
      .filter((record) => (record.status === 'ready' && !record.instantAppId) || !known.includes(record.status))
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map(toRecord);
  }

  async listRecordsWithStatus(statuses: readonly string[], limit: number, offset = 0): Promise<DatabaseRecord[]> {
    await this.enter('list');
    return [...this.records.values()]
      .filter((record) => statuses.includes(record.status))
      .sort((a, b) => a.seq - b.seq)
      .slice(offset, offset + limit)
      .map(toRecord);
  }

  async listNewestRecords(limit: number): Promise<DatabaseRecord[]> {
    await this.enter('list');
    return [...this.records.values()]
      .sort((a, b) => b.seq - a.seq)
      .slice(0, limit)
      .map(toRecord);
  }

  async listStoredTokens(limit: number, offset = 0): Promise<Array<{ record: DatabaseRecord; adminToken: string }>> {
    await this.enter('list');
    return [...this.records.values()]
      .filter((record) => record.adminToken !== null)
      .sort((a, b) => a.seq - b.seq)
      .slice(offset, offset + limit)
      .map((record) => ({ record: toRecord(record), adminToken: record.adminToken! }));
  }

  async loadStoredTokens(taskId: string): Promise<StoredTokens | null> {
    await this.enter('loadTask');
    const record = this.recordOf(taskId);
    if (!record) return null;
    return {
      record: toRecord(record),
      adminToken: record.adminToken,
      pendingAdminToken: record.pendingAdminToken ?? null,
    };
  }

  async listRecordsWithoutApiUri(limit: number, offset = 0): Promise<DatabaseRecord[]> {
    await this.enter('list');
    return [...this.records.values()]
      .filter((record) => record.apiUri === null)
      .sort((a, b) => a.seq - b.seq)
      .slice(offset, offset + limit)
      .map(toRecord);
  }

  async listRecordsOffTemplate(hash: string, limit: number, offset = 0): Promise<DatabaseRecord[]> {
    await this.enter('list');
    return [...this.records.values()]
      .filter((record) => record.status === 'ready' && record.templateHash !== hash)
      .sort((a, b) => a.seq - b.seq)
      .slice(offset, offset + limit)
      .map(toRecord);
  }

  async countRecords(
    hash?: string,
  ): Promise<{ byStatus: Record<string, number>; onTemplate: number; backups: BackupTotals }> {
    await this.enter('list');
    const byStatus: Record<string, number> = {};
    const backups = emptyBackupTotals();
    let onTemplate = 0;
    for (const record of this.records.values()) {
      byStatus[record.status] = (byStatus[record.status] ?? 0) + 1;
      if (record.status === 'ready' && record.templateHash === hash) onTemplate++;
      addToBackupTotals(backups, record);
    }
    return { byStatus, onTemplate, backups };
  }

  async findRecordsByName(names: string[]): Promise<DatabaseRecord[]> {
    await this.enter('list');
    const wanted = new Set(names);
    return [...this.records.values()].filter((record) => wanted.has(record.name)).map(toRecord);
  }

  private unlinked(): string[] {
    return [...this.tasks.values()]
      .filter((task) => this.linkedRecord(task) === null)
      .sort((a, b) => a.seq - b.seq)
      .map((task) => task.id);
  }

  /** The task linked to the record (other than `exceptTaskId`), if any. */
  private linkedTaskOf(recordId: string, exceptTaskId?: string): StoredTask | undefined {
    for (const task of this.tasks.values())
      if (task.mainDatabaseId === recordId && task.id !== exceptTaskId) return task;
    return undefined;
  }

  private linkedRecord(task: StoredTask): string | null {
    return task.mainDatabaseId !== null && this.records.has(task.mainDatabaseId) ? task.mainDatabaseId : null;
  }

  private async enter(op: Operation): Promise<void> {
    this.counts[op]++;
    const index = this.failures.findIndex((failure) => failure.op === op);
    if (index >= 0) {
      const [failure] = this.failures.splice(index, 1);
      throw failure!.error;
    }
    await this.beforeOperation(op);
  }
}

function toRecord(record: StoredRecord): DatabaseRecord {
  return {
    id: record.id,
    taskId: record.taskId,
    name: record.name,
    status: record.status,
    instantAppId: record.instantAppId,
    attempts: record.attempts,
    error: record.error,
    createdAt: record.createdAt,
    leaseOwner: record.leaseOwner,
    leaseExpiresAt: record.leaseExpiresAt,
    generation: record.generation,
    detachedAt: record.detachedAt,
    templateHash: record.templateHash,
    readyAt: record.readyAt,
    createdVia: record.createdVia,
    firstAttemptAt: record.firstAttemptAt,
    apiUri: record.apiUri,
    ownerId: record.ownerId,
    originIterationId: record.originIterationId,
    retryHonouredAt: record.retryHonouredAt,
    ...(record.pendingAppId ? { pendingAppId: record.pendingAppId } : {}),
    lastBackupAt: record.lastBackupAt ?? null,
    entityCount: record.entityCount ?? null,
    sizeBytes: record.sizeBytes ?? null,
  };
}
