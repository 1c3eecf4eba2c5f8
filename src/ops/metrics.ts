/**
 * Prometheus metrics on a registry of our own (two provisioners in one process,
 * as in tests, never share series). Every series the daemon always has is
 * created up front, so a dashboard sees zeros, not gaps, before the first event.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { GateState, PlatformOperation, Telemetry } from '../core/ports.js';
import { CREATE_PATHS, DATABASE_STATUSES, type CreatePath } from '../core/types.js';
import type { PlatformErrorKind } from '../errors.js';

/** Keys checked by the compiler: a new error kind cannot be forgotten here. */
const OUTCOMES: Record<'ok' | PlatformErrorKind, true> = {
  ok: true,
  'rate-limited': true,
  server: true,
  network: true,
  timeout: true,
  'malformed-response': true,
  rejected: true,
  'already-exists': true,
  'not-found': true,
  'token-rejected': true,
  'creation-disabled': true,
};
/** The daemon's own operations; `template push`'s appear when used. */
const DAEMON_OPERATIONS: PlatformOperation[] = ['create', 'create-with-id', 'get', 'list', 'delete'];
/** Operations that make an app, on either create path. */
const CREATES = new Set<PlatformOperation>(['create', 'create-with-id']);
/** The create gate's block reasons (see core/create-gate.ts). */
const BLOCK_REASONS = ['app-creation-disabled', 'platform-token-rejected'];

export class PrometheusTelemetry implements Telemetry {
  readonly registry = new Registry();
  private readonly databases: Gauge<'status'>;
  private readonly inFlight: Gauge;
  private readonly requests: Counter<'operation' | 'outcome'>;
  private readonly createDuration: Histogram;
  private readonly timeToLink: Histogram;
  private readonly orphans: Counter;
  private readonly blocked: Gauge<'reason'>;
  private readonly resubscribes: Counter;
  private readonly writes: Counter;
  private readonly transactions: Counter;
  private readonly path: Gauge<'path'>;
  private readonly stuck: Gauge;
  private blockedReason: string | null = null;
  private sawOtherStatus = false;
  /** The `databases` gauge's values: the last census, moved by every transition since. */
  private readonly counts = new Map<string, number>();

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.databases = new Gauge({
      name: 'instant_provisioner_databases',
      help: 'Task database records by status (a full count, refreshed every few seconds)',
      labelNames: ['status'],
      registers,
    });
    for (const status of DATABASE_STATUSES) this.databases.set({ status }, 0);
    this.inFlight = new Gauge({
      name: 'instant_provisioner_creates_in_flight',
      help: 'Platform API creates sent and not answered yet',
      registers,
    });
    this.requests = new Counter({
      name: 'instant_provisioner_platform_requests_total',
      help: "Platform API requests by operation and outcome ('ok' or the error kind)",
      labelNames: ['operation', 'outcome'],
      registers,
    });
    for (const operation of DAEMON_OPERATIONS)
      for (const outcome of Object.keys(OUTCOMES)) this.requests.inc({ operation, outcome }, 0);
    this.createDuration = new Histogram({
      name: 'instant_provisioner_create_duration_seconds',
      help: 'Duration of Platform API creates that returned an app',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60],
      registers,
    });
    this.timeToLink = new Histogram({
      name: 'instant_provisioner_time_to_link_seconds',
      help: "From a task's claim to its database being ready and linked",
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.orphans = new Counter({
      name: 'instant_provisioner_orphans_deleted_total',
      help: 'Apps deleted because no record owns them (a create that landed unrecorded)',
      registers,
    });
    this.blocked = new Gauge({
      name: 'instant_provisioner_blocked',
      help: '1 while creates are paused for every task, by reason',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of BLOCK_REASONS) this.blocked.set({ reason }, 0);
    this.resubscribes = new Counter({
      name: 'instant_provisioner_resubscribes_total',
      help: 'Subscriptions opened again after the SDK closed one for good',
      registers,
    });
    this.writes = new Counter({
      name: 'instant_provisioner_main_app_writes_total',
      help: 'Claims and record writes sent to the main app (finished, whatever the outcome)',
      registers,
    });
    this.transactions = new Counter({
      name: 'instant_provisioner_main_app_transactions_total',
      help: 'Transactions those writes took: fewer than writes when writes were grouped',
      registers,
    });
    this.path = new Gauge({
      name: 'instant_provisioner_create_path',
      help: "1 for the way this daemon's claims make their apps: chosen-id or server-id",
      labelNames: ['path'],
      registers,
    });
    for (const path of CREATE_PATHS) this.path.set({ path }, 0);
    this.stuck = new Gauge({
      name: 'instant_provisioner_tasks_stuck',
      help: 'Tasks the main app keeps refusing to claim (e.g. a required attribute), backing off; the task window grows past them',
      registers,
    });
  }

  tasksStuck(count: number): void {
    this.stuck.set(count);
  }

  platformRequest(operation: PlatformOperation, outcome: string, durationMs: number): void {
    this.requests.inc({ operation, outcome });
    if (CREATES.has(operation) && outcome === 'ok') this.createDuration.observe(durationMs / 1000);
  }

  createsInFlight(count: number): void {
    this.inFlight.set(count);
  }

  databaseReady(event: { timeToLinkMs: number }): void {
    this.timeToLink.observe(event.timeToLinkMs / 1000);
  }

  orphanDeleted(): void {
    this.orphans.inc();
  }

  gateChanged(state: GateState): void {
    const reason = state.kind === 'blocked' ? state.reason : null;
    if (reason === this.blockedReason) return;
    if (this.blockedReason !== null) this.blocked.set({ reason: this.blockedReason }, 0);
    if (reason !== null) this.blocked.set({ reason }, 1);
    this.blockedReason = reason;
  }

  subscriptionChanged(): void {}

  resubscribed(): void {
    this.resubscribes.inc();
  }

  databaseCounts(counts: Record<string, number>): void {
    this.counts.clear();
    for (const [status, count] of Object.entries(counts)) this.move(status, count);
    for (const status of DATABASE_STATUSES) this.databases.set({ status }, this.counts.get(status) ?? 0);
    if (this.counts.has('other') || this.sawOtherStatus)
      this.databases.set({ status: 'other' }, this.counts.get('other') ?? 0);
    this.sawOtherStatus ||= this.counts.has('other');
  }

  /** Moves the gauge at once; the next census corrects any drift (a count that raced a transition). */
  statusChanged(from: string | null, to: string | null): void {
    for (const [status, by] of [
      [from, -1],
      [to, 1],
    ] as const) {
      if (status === null) continue;
      const label = this.move(status, by);
      this.databases.set({ status: label }, this.counts.get(label) ?? 0);
    }
  }

  createPath(path: CreatePath): void {
    for (const each of CREATE_PATHS) this.path.set({ path: each }, each === path ? 1 : 0);
  }

  /** Adds `by` to a status's count (never below 0); hand-edited statuses count as `other`, their names not ours to turn into series. */
  private move(status: string, by: number): string {
    const label = (DATABASE_STATUSES as readonly string[]).includes(status) ? status : 'other';
    this.counts.set(label, Math.max(0, (this.counts.get(label) ?? 0) + by));
    return label;
  }

  mainAppWrites(writes: number, transactions: number): void {
    this.writes.inc(writes);
    this.transactions.inc(transactions);
  }

  /** The exposition text and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
