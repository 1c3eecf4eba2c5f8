/**
 * What `restore` and `migrate` share about the main app: a record read with its stored tokens, and
 * fenced writes that follow the record when another writer moved it first (the write is made again
 * on the latest version only while that version still says what the write was based on).
 */
import { StoreError } from '../../errors.js';
import type { RecordCatalog, Store } from '../ports.js';
import { isUniqueViolation } from '../reconcile-context.js';
import type { DatabaseRecord, RecordChanges } from '../types.js';

/** The main app as the copy commands need it (src/store/instant-store.ts). */
export type MovesStore = Pick<Store, 'update'> & Pick<RecordCatalog, 'loadStoredTokens'>;

/** Why a fenced write of a copy command gave up. */
export class RecordMovedError extends Error {
  constructor(
    message: string,
    /** The record as last read; null when it is gone. */
    readonly latest: DatabaseRecord | null,
  ) {
    super(message);
    this.name = 'RecordMovedError';
  }
}

/**
 * Writes `changes` fenced and returns the record as written. When another writer moved the record
 * first, reads it again and writes on the new version if `stillValid(latest)` says the write still
 * holds; otherwise (or after a few rounds) throws RecordMovedError. A record or task that is gone
 * (`requireTask`) also ends in RecordMovedError, with the latest record (or null).
 */
export async function writeFenced(
  store: MovesStore,
  owner: string,
  record: DatabaseRecord,
  changes: RecordChanges,
  stillValid: (latest: DatabaseRecord) => string | null,
  options: { requireTask?: boolean } = {},
): Promise<DatabaseRecord> {
  let current = record;
  for (let round = 0; round < 3; round++) {
    try {
      await store.update(current, owner, changes, options);
      // Tokens are not part of a DatabaseRecord: never carried on the object (it may be logged).
      const { adminToken: _token, pendingAdminToken: _pending, ...fields } = changes;
      return { ...current, ...fields, generation: current.generation + 1 } as DatabaseRecord;
    } catch (error) {
      const moved = isUniqueViolation(error, 'databaseFences', 'key');
      const gone = error instanceof StoreError && error.kind === 'missing-entity';
      if (!moved && !gone) throw error;
      const latest = (await store.loadStoredTokens(record.taskId))?.record ?? null;
      if (!latest || latest.id !== record.id)
        throw new RecordMovedError('the record was removed meanwhile (its task was deleted and retired)', null);
      if (gone) throw new RecordMovedError('the task was deleted meanwhile', latest);
      const problem = stillValid(latest);
      if (problem) throw new RecordMovedError(`the record changed meanwhile: ${problem}`, latest);
      current = latest;
    }
  }
  throw new RecordMovedError('the record keeps changing (another writer); run again', current);
}
