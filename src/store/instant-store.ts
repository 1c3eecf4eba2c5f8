/**
 * The Store port over the Admin SDK. Every call has a deadline, and every failure
 * becomes a classified StoreError; raw error bodies never leave this module (the
 * real server echoes a rejected admin token back in `hint`).
 */
import { id as newEntityId, InstantAPIError } from '@instantdb/admin';
import type { Clock } from '../clock.js';
import { withDeadline } from '../core/deadline.js';
import {
  noTelemetry,
  type ClaimInput,
  type RecordCatalog,
  type Store,
  type StoredTokens,
  type Telemetry,
  type UpdateOptions,
} from '../core/ports.js';
import {
  addToBackupTotals,
  emptyBackupTotals,
  type BackupTotals,
  type DatabaseRecord,
  type RecordChanges,
  type RecordVersion,
  type TaskState,
  type UnlinkedTask,
} from '../core/types.js';
import { StoreError } from '../errors.js';
import { readInstantError } from '../instant-errors.js';
import { GroupCommit, type GroupCommitStats } from './group-commit.js';
import { untyped, type MainDb } from './instant-db.js';
import {
  brokenRecordsQuery,
  COUNTED_STATUSES,
  detachedRecordsQuery,
  linkedIdOf,
  parseRecord,
  parseUnlinkedTask,
  RECORD_FIELDS,
  recordsOffTemplateQuery,
  recordsQuery,
  unfinishedRecordsQuery,
  unlinkedTasksQuery,
} from './records.js';

export interface InstantStoreOptions {
  db: MainDb;
  clock: Clock;
  /** Deadline for each call; the SDK itself has none. */
  timeoutMs: number;
  /** How an admin token is written (sealed with a token key, bound to its record's id); by default as it is. */
  sealToken?: (token: string, recordId: string) => string;
  /** How a stored admin token is read back (opened with the token keys); by default as it is. Throws when it cannot. */
  openToken?: (stored: string, recordId: string) => string;
  /** Told of the main-app writes and the transactions they took. */
  telemetry?: Telemetry;
  /** The link from a task to its owner (`$users`); null: tasks have no owner. Default `owner`. */
  ownerLink?: string | null;
}

type TransactStep = Parameters<MainDb['transact']>[0] extends infer Steps
  ? Steps extends readonly (infer Step)[]
    ? Step
    : never
  : never;

/** Records read per page when counting. */
const COUNT_PAGE = 1_000;

export class InstantStore implements Store, RecordCatalog {
  private readonly db: MainDb;
  /** Claims and record writes: sent together when they queue up (see group-commit.ts). */
  private readonly commits: GroupCommit<TransactStep>;

  constructor(private readonly options: InstantStoreOptions) {
    this.db = options.db;
    const telemetry = options.telemetry ?? noTelemetry;
    this.commits = new GroupCommit((steps) => this.call(() => this.db.transact(steps)).then(() => {}), {
      report: (writes, transactions) => telemetry.mainAppWrites(writes, transactions),
    });
  }

  /** Writes asked for and transactions sent for them: how well writes were grouped. */
  get commitStats(): GroupCommitStats {
    return { ...this.commits.stats };
  }

  private get ownerLink(): string | null {
    return this.options.ownerLink === undefined ? 'owner' : this.options.ownerLink;
  }

  async loadTask(taskId: string): Promise<TaskState> {
    const { ownerLink } = this;
    const query = {
      tasks: {
        $: { where: { id: taskId }, fields: ['id', 'databaseRetryRequestedAt'] },
        mainDatabase: { $: { fields: ['id'] } },
        forkedFrom: { $: { fields: ['id'] } },
        ...(ownerLink ? { [ownerLink]: { $: { fields: ['id'] } } } : {}),
      },
      databases: { $: { where: { taskId } }, originIteration: { $: { fields: ['id'] } } },
    };
    const result = (await this.call(() => this.db.query(untyped(query)))) as {
      tasks?: Array<Record<string, unknown>>;
      databases?: Array<{ id: string }>;
    };
    const task = result.tasks?.[0];
    const entity = result.databases?.[0];
    const record = entity === undefined ? null : parseRecord(entity);
    if (entity !== undefined && record === null) {
      throw new StoreError('rejected', `database record ${entity.id} for task ${taskId} is missing required fields`);
    }
    const unlinked = task && parseUnlinkedTask(task, ownerLink);
    const requested = task?.['databaseRetryRequestedAt'];
    const retryRequestedAt = typeof requested === 'string' ? Date.parse(requested) : requested;
    return {
      task: unlinked
        ? {
            ...unlinked,
            mainDatabaseId: linkedIdOf(task['mainDatabase']),
            retryRequestedAt:
              typeof retryRequestedAt === 'number' && Number.isFinite(retryRequestedAt) ? retryRequestedAt : null,
          }
        : null,
      record,
    };
  }

  async claim(input: ClaimInput): Promise<void> {
    const { tx } = this.db;
    const { app } = input;
    await this.commits.write({
      entities: [input.recordId, input.taskId],
      steps: [
        tx.databases[input.recordId]!.create({
          taskId: input.taskId,
          name: input.name,
          attempts: 0,
          createdAt: input.now,
          generation: 1,
          createdVia: input.createdVia,
          apiUri: input.apiUri,
          ...(input.ownerId ? { ownerId: input.ownerId } : {}),
          // Refused (its owner has too many databases): no lease, no app, the reason for the owner to see.
          ...(input.refusedBecause
            ? { status: 'refused', error: input.refusedBecause }
            : { status: 'provisioning', leaseOwner: input.owner, leaseExpiresAt: input.leaseExpiresAt }),
          // A chosen id: the record names its app before the app exists.
          ...(app ? { instantAppId: app.id, adminToken: this.seal(app.adminToken, input.recordId) } : {}),
        }),
        ...(input.originIterationId
          ? [tx.databases[input.recordId]!.link({ originIteration: input.originIterationId })]
          : []),
        // Fails the claim if the task was deleted meanwhile (a group it is in is then sent again one by one).
        tx.tasks[input.taskId]!.update({}, { upsert: false }),
        tx.tasks[input.taskId]!.link({ mainDatabase: input.recordId }),
      ],
    });
  }

  async update(
    version: RecordVersion,
    owner: string,
    changes: RecordChanges,
    options: UpdateOptions = {},
  ): Promise<void> {
    const { tx } = this.db;
    const generation = version.generation + 1;
    const task = tx.tasks[version.taskId]!;
    if (typeof changes.adminToken === 'string')
      changes = { ...changes, adminToken: this.seal(changes.adminToken, version.id) };
    if (typeof changes.pendingAdminToken === 'string')
      changes = { ...changes, pendingAdminToken: this.seal(changes.pendingAdminToken, version.id) };
    const own = fence(this.db, version.id, generation, owner, this.options.clock.now());
    await this.commits.write({
      entities: [own.id, version.id, version.taskId],
      steps: [
        own.step,
        tx.databases[version.id]!.update({ ...changes, generation }, { upsert: false }),
        ...(options.requireTask || options.linkTask ? [task.update({}, { upsert: false })] : []),
        ...(options.clearRetryRequest ? [task.update({ databaseRetryRequestedAt: null }, { upsert: false })] : []),
        ...(options.linkTask ? [task.link({ mainDatabase: version.id })] : []),
      ],
    });
  }

  async delete(version: RecordVersion, owner: string): Promise<void> {
    const { tx } = this.db;
    // The record's fences go with it: once it is gone a stale writer's `upsert: false`
    // update fails on its own, fence or not. Its delete is fenced like any write.
    const keys = Array.from({ length: Math.max(0, version.generation - 1) }, (_, i) => `${version.id}/${i + 2}`);
    const old = keys.length
      ? (
          await this.call(() =>
            this.db.query({ databaseFences: { $: { where: { key: { $in: keys } }, fields: ['id'] } } }),
          )
        ).databaseFences
      : [];
    const own = fence(this.db, version.id, version.generation + 1, owner, this.options.clock.now());
    await this.call(() =>
      this.db.transact([
        own.step,
        tx.databases[version.id]!.delete(),
        ...old.map((entity) => tx.databaseFences[entity.id]!.delete()),
        tx.databaseFences[own.id]!.delete(),
      ]),
    );
  }

  async readAdminToken(recordId: string): Promise<string | null> {
    const query = { databases: { $: { where: { id: recordId }, fields: ['adminToken'] } } };
    const result = (await this.call(() => this.db.query(untyped(query)))) as {
      databases?: Array<{ adminToken?: unknown }>;
    };
    const stored = result.databases?.[0]?.adminToken;
    if (typeof stored !== 'string' || stored === '') return null;
    try {
      return this.options.openToken ? this.options.openToken(stored, recordId) : stored;
    } catch {
      // The envelope's message may name the key id; the token itself is never in it, but say only what matters.
      throw new StoreError('rejected', `the admin token of database record ${recordId} cannot be opened`);
    }
  }

  private seal(token: string, recordId: string): string {
    return this.options.sealToken ? this.options.sealToken(token, recordId) : token;
  }

  async link(taskId: string, recordId: string): Promise<void> {
    await this.call(() => this.db.transact([this.db.tx.tasks[taskId]!.link({ mainDatabase: recordId })]));
  }

  async listUnlinkedTasks(limit: number): Promise<UnlinkedTask[]> {
    const { ownerLink } = this;
    const result = (await this.call(() => this.db.query(untyped(unlinkedTasksQuery(limit, ownerLink))))) as {
      tasks?: unknown[];
    };
    return (result.tasks ?? []).flatMap((task) => parseUnlinkedTask(task, ownerLink) ?? []);
  }

  async newestUnlinkedTask(): Promise<string | null> {
    const result = (await this.call(() => this.db.query(untyped(unlinkedTasksQuery(1, null, 'desc'))))) as {
      tasks?: Array<{ id?: unknown }>;
    };
    const id = result.tasks?.[0]?.id;
    return typeof id === 'string' ? id : null;
  }

  listUnfinishedRecords(limit: number, exceptOwner?: string): Promise<DatabaseRecord[]> {
    return this.queryRecords(unfinishedRecordsQuery(limit, exceptOwner));
  }

  listDetachedRecords(limit: number): Promise<DatabaseRecord[]> {
    return this.queryRecords(detachedRecordsQuery(limit));
  }

  listBrokenRecords(limit: number): Promise<DatabaseRecord[]> {
    return this.queryRecords(brokenRecordsQuery(limit));
  }

  async countDatabasesOf(ownerId: string, limit: number): Promise<number> {
    const query = {
      databases: {
        $: { where: { ownerId, status: { $in: [...COUNTED_STATUSES] } }, limit, fields: ['id'] },
      },
    };
    const result = (await this.call(() => this.db.query(untyped(query)))) as { databases?: unknown[] };
    return result.databases?.length ?? 0;
  }

  listRefusedRecords(limit: number, ownerId?: string): Promise<DatabaseRecord[]> {
    return this.queryRecords(recordsQuery({ status: 'refused', ...(ownerId ? { ownerId } : {}) }, limit, 'asc'));
  }

  async loadIterationDatabase(iterationId: string): Promise<{ record: DatabaseRecord | null } | null> {
    const query = {
      iterations: {
        $: { where: { id: iterationId }, fields: ['id'] },
        task: { $: { fields: ['id'] }, mainDatabase: { $: { fields: RECORD_FIELDS } } },
      },
    };
    const result = (await this.call(() => this.db.query(untyped(query)))) as {
      iterations?: Array<{ task?: { mainDatabase?: unknown } | null }>;
    };
    const task = result.iterations?.[0]?.task;
    if (!task) return null;
    return { record: task.mainDatabase ? parseRecord(task.mainDatabase) : null };
  }

  async findRecordsByName(names: string[]): Promise<DatabaseRecord[]> {
    if (names.length === 0) return [];
    return this.queryRecords(recordsQuery({ name: { $in: names } }, names.length, 'asc'));
  }

  listRecordsWithStatus(statuses: readonly string[], limit: number, offset = 0): Promise<DatabaseRecord[]> {
    return this.queryRecords(recordsQuery({ status: { $in: [...statuses] } }, limit, 'asc', offset));
  }

  listNewestRecords(limit: number): Promise<DatabaseRecord[]> {
    return this.queryRecords(recordsQuery({}, limit, 'desc'));
  }

  async listStoredTokens(limit: number, offset = 0): Promise<Array<{ record: DatabaseRecord; adminToken: string }>> {
    const query = recordsQuery({ adminToken: { $isNull: false } }, limit, 'asc', offset, ['adminToken']);
    const result = (await this.call(() => this.db.query(untyped(query)))) as { databases?: unknown[] };
    return (result.databases ?? []).flatMap((entity) => {
      const record = parseRecord(entity);
      const token = (entity as { adminToken?: unknown }).adminToken;
      return record && typeof token === 'string' ? [{ record, adminToken: token }] : [];
    });
  }

  async loadStoredTokens(taskId: string): Promise<StoredTokens | null> {
    const query = recordsQuery({ taskId }, 1, 'asc', 0, ['adminToken', 'pendingAdminToken']);
    const result = (await this.call(() => this.db.query(untyped(query)))) as { databases?: unknown[] };
    const entity = result.databases?.[0] as { adminToken?: unknown; pendingAdminToken?: unknown } | undefined;
    if (entity === undefined) return null;
    const record = parseRecord(entity);
    if (record === null)
      throw new StoreError('rejected', `the database record of task ${taskId} is missing required fields`);
    const stored = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
    return { record, adminToken: stored(entity.adminToken), pendingAdminToken: stored(entity.pendingAdminToken) };
  }

  listRecordsWithoutApiUri(limit: number, offset = 0): Promise<DatabaseRecord[]> {
    return this.queryRecords(recordsQuery({ apiUri: { $isNull: true } }, limit, 'asc', offset));
  }

  listRecordsOffTemplate(hash: string, limit: number, offset = 0): Promise<DatabaseRecord[]> {
    return this.queryRecords(recordsOffTemplateQuery(hash, limit, offset));
  }

  /** Pages through every record's status (ids and a few short fields only). */
  async countRecords(
    hash?: string,
  ): Promise<{ byStatus: Record<string, number>; onTemplate: number; backups: BackupTotals }> {
    const byStatus: Record<string, number> = {};
    const backups = emptyBackupTotals();
    let onTemplate = 0;
    for (let offset = 0; ; offset += COUNT_PAGE) {
      const query = {
        databases: {
          $: {
            limit: COUNT_PAGE,
            offset,
            order: { serverCreatedAt: 'asc' },
            fields: ['status', 'templateHash', 'lastBackupAt', 'entityCount', 'sizeBytes'],
          },
        },
      };
      const result = (await this.call(() => this.db.query(untyped(query)))) as {
        databases?: Array<{
          status?: unknown;
          templateHash?: unknown;
          lastBackupAt?: unknown;
          entityCount?: unknown;
          sizeBytes?: unknown;
        }>;
      };
      const page = result.databases ?? [];
      for (const record of page) {
        const status = String(record.status);
        byStatus[status] = (byStatus[status] ?? 0) + 1;
        if (status === 'ready' && hash !== undefined && record.templateHash === hash) onTemplate++;
        addToBackupTotals(backups, {
          status,
          lastBackupAt: toMs(record.lastBackupAt),
          entityCount: typeof record.entityCount === 'number' ? record.entityCount : null,
          sizeBytes: typeof record.sizeBytes === 'number' ? record.sizeBytes : null,
        });
      }
      if (page.length < COUNT_PAGE) return { byStatus, onTemplate, backups };
    }
  }

  /** Runs a `databases` query the SDK's types cannot express (`or`, `$not` inside `and`); the server accepts them. */
  private async queryRecords(query: object): Promise<DatabaseRecord[]> {
    const result = (await this.call(() => this.db.query(untyped(query)))) as { databases?: unknown[] };
    return parseRecords(result.databases ?? []);
  }

  /** Runs one SDK call under the deadline, classifying any failure. */
  private async call<T>(operation: () => Promise<T>): Promise<T> {
    const { clock, timeoutMs } = this.options;
    try {
      return await withDeadline(
        clock,
        timeoutMs,
        operation,
        () => new StoreError('unavailable', `the main app did not answer within ${timeoutMs} ms`),
      );
    } catch (error) {
      throw classifyStoreError(error);
    }
  }
}

/** The fencing token for moving a record to `generation`; see instant.schema.ts. */
function fence(db: MainDb, recordId: string, generation: number, owner: string, now: number) {
  const id = newEntityId();
  return { id, step: db.tx.databaseFences[id]!.create({ key: `${recordId}/${generation}`, owner, createdAt: now }) };
}

/** A date attribute as epoch ms (numbers as written by us, strings as written by others); null if neither. */
function toMs(value: unknown): number | null {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? ms : null;
}

function parseRecords(entities: unknown[]): DatabaseRecord[] {
  return entities.map(parseRecord).filter((record): record is DatabaseRecord => record !== null);
}

/** Maps an SDK failure to a StoreError by the shared reading of InstantDB errors, never echoing the body's hint. */
export function classifyStoreError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  if (!(error instanceof InstantAPIError)) {
    const message = error instanceof Error ? error.message : String(error);
    return new StoreError('unavailable', `could not reach the main app (${message})`, { cause: error });
  }
  // The SDK keeps the body but not the headers: a wait the server asks for arrives through `hint.retry-after`.
  const info = readInstantError(error.status, error.body, Date.now());
  const { status, detail } = info;
  switch (info.meaning) {
    case 'rate-limited':
    case 'unavailable':
    case 'unexpected-status':
      return new StoreError('unavailable', `main app unavailable (${detail})`, {
        status,
        retryAfterMs: info.retryAfterMs,
      });
    case 'unique-violation':
      return new StoreError('unique-violation', info.message ?? detail, {
        status,
        etype: info.etype,
        label: info.label,
      });
    case 'token-rejected':
      return new StoreError(
        'token-rejected',
        'the main app rejected INSTANT_ADMIN_TOKEN for INSTANT_APP_ID (check both)',
        {
          status,
        },
      );
    case 'missing-entity':
      return new StoreError('missing-entity', info.message ?? detail, { status });
    case 'schema-missing':
      return new StoreError(
        'schema-missing',
        'the main app lacks attributes of instant.schema.ts; push it with `npx instant-cli push schema`',
        { status },
      );
    default:
      return new StoreError('rejected', `main app refused the request (${detail})`, { status });
  }
}
