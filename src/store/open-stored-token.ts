/**
 * The one place that turns a record's stored `adminToken` (plain, or sealed with the token key)
 * back into the token, for every reader of stored tokens outside the store itself.
 */
import type { DatabaseRecord } from '../core/types.js';
import { openAdminToken, type TokenKey } from '../token-seal.js';

/**
 * Opens `stored` (the record's `adminToken` value) with the configured keys; a plain token opens
 * as itself, and an envelope only on the record it was sealed for.
 */
export function openStoredToken(record: DatabaseRecord, stored: string, keys: readonly TokenKey[]): string {
  return openAdminToken(stored, record.id, keys);
}
