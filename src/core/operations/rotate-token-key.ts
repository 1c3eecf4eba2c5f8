/**
 * `instant-provisioner rotate-token-key`: every stored admin token sealed under
 * the current key. Each record is opened with the keys given (a plain token
 * opens as itself) and written back through a store that seals with the current
 * key; the write is fenced like every other, so a daemon working on the same
 * record meanwhile makes this one read it again rather than overwrite it.
 * Envelopes not bound to their record (v1) are re-sealed bound (v2). Records
 * already sealed, bound, under the current key are skipped, so an interrupted
 * run is resumed by running it again.
 */
import { needsReseal, openAdminToken, type TokenKey } from '../../token-seal.js';
import type { Logger } from '../logger.js';
import type { RecordCatalog, Store } from '../ports.js';
import { errorMessage, isUniqueViolation } from '../reconcile-context.js';
import type { DatabaseRecord } from '../types.js';

export interface RotateDeps {
  /** Must seal admin tokens with `keys.current` when it writes them. */
  store: Store & RecordCatalog;
  logger: Logger;
  owner: string;
}

export interface RotateSummary {
  resealed: number;
  /** Already sealed under the current key. */
  current: number;
  failed: Array<{ taskId: string; databaseId: string; reason: string }>;
}

const PAGE = 200;

export async function rotateTokenKey(
  deps: RotateDeps,
  keys: { current: TokenKey; previous: readonly TokenKey[] },
  onProgress: (done: number) => void = () => {},
): Promise<RotateSummary> {
  const summary: RotateSummary = { resealed: 0, current: 0, failed: [] };
  const openWith = [keys.current, ...keys.previous];
  // Resealing keeps a record in the listing and in its place, so offsets stay valid.
  for (let offset = 0; ; offset += PAGE) {
    const page = await deps.store.listStoredTokens(PAGE, offset);
    for (const { record, adminToken } of page) {
      try {
        if (!needsReseal(adminToken, keys.current)) summary.current++;
        else if (await reseal(deps, record, openAdminToken(adminToken, record.id, openWith))) summary.resealed++;
      } catch (error) {
        summary.failed.push({ taskId: record.taskId, databaseId: record.id, reason: errorMessage(error) });
      }
      onProgress(summary.resealed + summary.current + summary.failed.length);
    }
    if (page.length < PAGE) return summary;
  }
}

/** Writes `token` back (the store seals it); false when the record is gone. */
async function reseal(deps: RotateDeps, record: DatabaseRecord, token: string): Promise<boolean> {
  try {
    await deps.store.update(record, deps.owner, { adminToken: token });
    return true;
  } catch (error) {
    if (!isUniqueViolation(error, 'databaseFences', 'key')) throw error;
    // Someone wrote the record since we read it: read it again, its token is unchanged.
    const { record: latest } = await deps.store.loadTask(record.taskId);
    if (latest === null || latest.id !== record.id) return false;
    return reseal(deps, latest, token);
  }
}
