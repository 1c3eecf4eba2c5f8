/** Lease arithmetic shared by the reconciler and the controller. */
import type { DatabaseRecord } from './types.js';

export interface LeaseSettings {
  owner: string;
  leaseMs: number;
  settleMarginMs: number;
}

/** No daemon writes a lease this far ahead; one that does was edited by hand. */
export function implausibleLeaseMs(settings: LeaseSettings): number {
  return Math.max(10 * settings.leaseMs, 3_600_000);
}

/** True when the record's lease is another daemon's and ends implausibly far ahead. */
export function isImplausibleLease(record: DatabaseRecord, now: number, settings: LeaseSettings): boolean {
  return (
    record.leaseOwner !== null &&
    record.leaseOwner !== settings.owner &&
    record.leaseExpiresAt !== null &&
    record.leaseExpiresAt - now > implausibleLeaseMs(settings)
  );
}

/**
 * Ms until we may take the record over from another daemon, or null when we may
 * now: no lease, our own lease, an implausible lease, or one that ended more
 * than the settle margin ago (clock skew between daemons).
 */
export function foreignLeaseWaitMs(record: DatabaseRecord, now: number, settings: LeaseSettings): number | null {
  if (record.leaseOwner === null || record.leaseOwner === settings.owner || record.leaseExpiresAt === null) return null;
  if (isImplausibleLease(record, now, settings)) return null;
  const free = record.leaseExpiresAt + settings.settleMarginMs;
  return free > now ? free - now : null;
}

/** What judging a create against a lease needs: whose lease it is and how long a create may take to land. */
export interface CreateLeaseSettings {
  owner: string;
  requestTimeoutMs: number;
  settleMarginMs: number;
}

/**
 * True when our lease outlives a create sent now by its timeout plus the margin: by the time
 * anyone may take the record over, that create has landed or failed for good (rule 2).
 */
export function leaseCoversCreate(record: DatabaseRecord, now: number, settings: CreateLeaseSettings): boolean {
  return (
    record.leaseOwner === settings.owner &&
    record.leaseExpiresAt !== null &&
    record.leaseExpiresAt - now >= settings.requestTimeoutMs + settings.settleMarginMs
  );
}
