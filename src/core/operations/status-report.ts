/**
 * `instant-provisioner status`: what the main app says about every task
 * database, in one report. Its JSON form is a stable interface (see the README):
 * fields may be added, none are renamed or removed without a new `version`.
 */
import type { RecordCatalog } from '../ports.js';
import type { RetirementPolicy } from '../retirement.js';
import { DATABASE_STATUSES, type BackupTotals, type DatabaseRecord } from '../types.js';
import { isoOrNull, showRecord, type ShownRecord } from './shown-record.js';

/** How many records of each list a report shows; the counts are always complete. */
export const LISTED = 100;

export interface ReportedRecord extends ShownRecord {
  /**
   * Detached records: when the daemon deletes the app (ISO-8601): `detachedAt` + the grace + the
   * settle margin, as retirement.ts `detachedWaitMs` waits.
   */
  deletesAt: string | null;
}

/** The retirement policy, and the settle margin the daemon adds to its grace (clock skew). */
export type ReportedRetirement = RetirementPolicy & { settleMarginMs: number };

/** What a running daemon said about itself, when it could be asked. */
export interface DaemonState {
  url: string;
  ready: boolean;
  reasons: string[];
  gate: unknown;
  /** How that daemon's claims make their apps: chosen-id or server-id (null if it has not decided). */
  createPath: string | null;
}

export interface StatusReport {
  version: 1;
  /** ISO-8601, when the report was made. */
  generatedAt: string;
  /** Records by status; statuses the daemon does not know are counted under their own name. */
  counts: Record<string, number>;
  total: number;
  oldestProvisioning: (ReportedRecord & { ageMs: number }) | null;
  failed: ReportedRecord[];
  detached: ReportedRecord[];
  retained: ReportedRecord[];
  /** What the ready databases' last backups add up to (`oldestBackupAt` in ISO-8601). */
  backups: ShownBackupTotals;
  /** Set when a daemon's HTTP server was given and answered; null otherwise. */
  daemon: DaemonState | null;
}

/** BackupTotals with its time in ISO-8601, as the report and the live page show it. */
export type ShownBackupTotals = Omit<BackupTotals, 'oldestBackupAt'> & { oldestBackupAt: string | null };

/** Backup totals as an operator sees them. */
export function showBackupTotals(totals: BackupTotals): ShownBackupTotals {
  return { ...totals, oldestBackupAt: isoOrNull(totals.oldestBackupAt) };
}

export async function buildStatusReport(
  catalog: RecordCatalog,
  now: number,
  retirement: ReportedRetirement,
  daemon: DaemonState | null,
): Promise<StatusReport> {
  const [{ byStatus, backups }, provisioning, failed, detached, retained] = await Promise.all([
    catalog.countRecords(),
    catalog.listRecordsWithStatus(['provisioning'], 1),
    catalog.listRecordsWithStatus(['failed'], LISTED),
    catalog.listRecordsWithStatus(['detached'], LISTED),
    catalog.listRecordsWithStatus(['retained'], LISTED),
  ]);
  const counts: Record<string, number> = Object.fromEntries(DATABASE_STATUSES.map((status) => [status, 0]));
  for (const [status, count] of Object.entries(byStatus)) counts[status] = count;
  const report = (record: DatabaseRecord) => reportRecord(record, retirement);
  const oldest = provisioning[0];
  return {
    version: 1,
    generatedAt: new Date(now).toISOString(),
    counts,
    total: Object.values(counts).reduce((sum, count) => sum + count, 0),
    oldestProvisioning: oldest ? { ...report(oldest), ageMs: Math.max(0, now - oldest.createdAt) } : null,
    failed: failed.map(report),
    detached: detached.map(report),
    retained: retained.map(report),
    backups: showBackupTotals(backups),
    daemon,
  };
}

function reportRecord(record: DatabaseRecord, retirement: ReportedRetirement): ReportedRecord {
  const deletes =
    record.status === 'detached' && retirement.onTaskDelete === 'delete' && record.detachedAt !== null
      ? record.detachedAt + retirement.graceMs + retirement.settleMarginMs
      : null;
  return { ...showRecord(record), deletesAt: isoOrNull(deletes) };
}
