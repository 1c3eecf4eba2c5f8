/**
 * The one place that turns a record's stored `adminToken` (plain, or sealed with the token key)
 * back into the token. Every reader of stored tokens outside the reconciler goes through it, so a
 * change to how envelopes are opened (binding them to the record id) is a change here only.
 */
import type { DatabaseRecord } from '../core/types.js';
import { openAdminToken, type TokenKey } from '../token-seal.js';

/**
 * Opens `stored` (the record's `adminToken` value) with the configured keys; a plain token opens
 * as itself. Takes the record because envelopes are about to be bound to its id.
 */
export function openStoredToken(_record: DatabaseRecord, stored: string, keys: readonly TokenKey[]): string {
  return openAdminToken(stored, keys);
}
