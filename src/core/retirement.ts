/** What happens to a task's database once the task is deleted, and when. */
import { foreignLeaseWaitMs, type LeaseSettings } from './lease.js';
import type { DatabaseRecord } from './types.js';

export interface RetirementPolicy {
  /** `delete`: detach, then delete the app after the grace; `retain`: keep the app. */
  onTaskDelete: 'delete' | 'retain';
  /** How long a detached record waits for its task to come back before its app is deleted. */
  graceMs: number;
}

/**
 * A detached record whose lease is set is being retired: its app may already be
 * deleted, so it is never re-attached, only finished (see retire-phase.ts).
 */
export function isRetiring(record: DatabaseRecord): boolean {
  return record.status === 'detached' && record.leaseOwner !== null;
}

/**
 * Ms until a detached record needs work: now under `retain` (it becomes
 * retained), when a retiring daemon's lease ends, or once the grace and the
 * settle margin (clock skew) have passed since it was detached.
 */
export function detachedWaitMs(
  record: DatabaseRecord,
  now: number,
  policy: RetirementPolicy,
  lease: LeaseSettings,
): number {
  if (isRetiring(record)) return foreignLeaseWaitMs(record, now, lease) ?? 0;
  if (policy.onTaskDelete === 'retain') return 0;
  const due = (record.detachedAt ?? 0) + policy.graceMs + lease.settleMarginMs;
  return Math.max(0, due - now);
}
