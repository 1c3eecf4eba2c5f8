/**
 * `instant-provisioner gc`: finds the account's apps that the daemon can
 * attribute to itself but that no record holds, and, with `--delete`, deletes
 * them. The daemon's own sweep only looks at recent apps; gc reads the whole
 * account, so it finds what was left before a daemon ran (or while none did).
 *
 * Attributable, and deleted with --delete:
 * - titled with a record's name, created after the record, and not its app
 *   (a lost create's leftover), unless the record is still provisioning (its
 *   daemon is on it) or names it as a restore's pending app;
 * - the app of a detached record whose grace has passed (its task is gone);
 * - with --match-names only: titled like our names (three lowercase words) when
 *   no record has that name (its record was deleted by hand).
 * Everything else is listed as not attributable and never touched.
 */
import type { Clock } from '../../clock.js';
import { PlatformError } from '../../errors.js';
import { madeAfter } from '../create-paths/app-directory.js';
import { withDeadline } from '../deadline.js';
import type { Logger } from '../logger.js';
import type { PlatformClient, Store } from '../ports.js';
import type { RetirementPolicy } from '../retirement.js';
import type { DatabaseRecord, ListedApp } from '../types.js';

const NAMES_PER_QUERY = 100;
const OUR_NAME = /^[a-z]+-[a-z]+-[a-z]+$/;

export interface GcDeps {
  store: Store;
  platform: PlatformClient;
  clock: Clock;
  logger: Logger;
}

export interface GcSettings {
  requestTimeoutMs: number;
  settleMarginMs: number;
  retirement: RetirementPolicy;
  /** Attribute apps titled like our names when no record has the name. */
  matchNames: boolean;
}

export interface GcApp {
  appId: string;
  title: string;
  /** ISO-8601. */
  createdAt: string;
  /** Why it is (or is not) attributed to the daemon. */
  reason: string;
  taskId?: string;
  databaseId?: string;
}

export interface GcPlan {
  /** Apps in the account. */
  scanned: number;
  attributable: GcApp[];
  unattributable: GcApp[];
  /** Apps a provisioning record's daemon is still working on; left alone. */
  inFlight: number;
}

/** Reads the whole account and sorts its apps; changes nothing. */
export async function planGc(deps: GcDeps, settings: GcSettings, excludeAppIds: ReadonlySet<string>): Promise<GcPlan> {
  const apps = await withDeadline(
    deps.clock,
    // Reading a whole large account takes longer than one ordinary request.
    settings.requestTimeoutMs * 4,
    (signal) => deps.platform.listApps({ createdSince: 0 }, signal),
    () => new PlatformError('timeout', 'the Platform API did not list the apps in time'),
  );
  const records = await recordsByName(deps.store, apps);
  const plan: GcPlan = { scanned: apps.length, attributable: [], unattributable: [], inFlight: 0 };
  const now = deps.clock.now();
  for (const app of apps) {
    if (excludeAppIds.has(app.id)) continue;
    const record = records.get(app.title);
    const entry = (reason: string): GcApp => ({
      appId: app.id,
      title: app.title,
      createdAt: new Date(app.createdAt).toISOString(),
      reason,
      ...(record ? { taskId: record.taskId, databaseId: record.id } : {}),
    });
    if (!record) {
      if (!OUR_NAME.test(app.title)) plan.unattributable.push(entry('no record has this name'));
      else if (settings.matchNames) plan.attributable.push(entry('named like our databases; no record has this name'));
      else plan.unattributable.push(entry('named like our databases, but no record has this name (see --match-names)'));
    } else if (!madeAfter(app, record.createdAt)) {
      plan.unattributable.push(entry(`older than the record named ${record.name}`));
    } else if (app.id !== record.instantAppId) {
      // A restore's new app is named by its record before it becomes the record's app.
      if (record.status === 'provisioning' || app.id === record.pendingAppId) plan.inFlight++;
      else plan.attributable.push(entry(`titled ${record.name} but not its record's app (a lost create's leftover)`));
    } else if (record.status === 'detached' && pastGrace(record, now, settings)) {
      plan.attributable.push(entry('the app of a detached record whose grace has passed'));
    }
  }
  return plan;
}

/** Deletes the plan's attributable apps, reporting each; returns how many went. */
export async function deleteAttributable(
  deps: GcDeps,
  settings: GcSettings,
  plan: GcPlan,
  onDeleted: (app: GcApp) => void,
): Promise<number> {
  let deleted = 0;
  for (const app of plan.attributable) {
    await withDeadline(
      deps.clock,
      settings.requestTimeoutMs,
      (signal) => deps.platform.deleteApp(app.appId, signal),
      () => new PlatformError('timeout', 'the Platform API did not answer in time'),
    );
    deleted++;
    deps.logger.info(
      { appId: app.appId, databaseName: app.title, taskId: app.taskId, reason: app.reason },
      'gc deleted app',
    );
    onDeleted(app);
  }
  return deleted;
}

function pastGrace(record: DatabaseRecord, now: number, settings: GcSettings): boolean {
  if (settings.retirement.onTaskDelete !== 'delete' || record.detachedAt === null) return false;
  return now >= record.detachedAt + settings.retirement.graceMs + settings.settleMarginMs;
}

async function recordsByName(store: Store, apps: ListedApp[]): Promise<Map<string, DatabaseRecord>> {
  const titles = [...new Set(apps.map((app) => app.title))];
  const records = new Map<string, DatabaseRecord>();
  for (let i = 0; i < titles.length; i += NAMES_PER_QUERY) {
    for (const record of await store.findRecordsByName(titles.slice(i, i + NAMES_PER_QUERY)))
      records.set(record.name, record);
  }
  return records;
}
