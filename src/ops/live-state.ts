/**
 * What the daemon is doing right now, kept in memory for the readiness check
 * and the live page: the create gate, the subscriptions, creates in flight,
 * record counts and recent throughput. A Telemetry sink; every call is O(1).
 */
import type { Clock } from '../clock.js';
import type { GateState, PlatformOperation, Telemetry } from '../core/ports.js';
import type { CreatePath } from '../core/types.js';
import type { BackupTotals } from '../core/types.js';
import { ThroughputSeries } from './throughput-series.js';

/** The gate as people read it: a pause whose time has passed is over. */
export type GateView =
  | { state: 'ok' }
  | { state: 'paced'; until: string }
  | { state: 'blocked'; reason: string; message: string; since: string; nextProbeAt: string };

export interface PlatformFailure {
  operation: PlatformOperation;
  outcome: string;
  /** ISO-8601. */
  at: string;
}

export class LiveState implements Telemetry {
  private gate: GateState = { kind: 'open' };
  private readonly subscriptions = new Map<string, boolean>();
  private inFlight = 0;
  private orphans = 0;
  private resubscribes = 0;
  private counts: Record<string, number> | null = null;
  private backups: BackupTotals | null = null;
  private lastFailure: PlatformFailure | null = null;
  private path: CreatePath | null = null;
  private stuck = 0;
  readonly throughput = new ThroughputSeries();

  constructor(private readonly clock: Clock) {}

  platformRequest(operation: PlatformOperation, outcome: string): void {
    if (outcome !== 'ok') this.lastFailure = { operation, outcome, at: new Date(this.clock.now()).toISOString() };
  }

  createsInFlight(count: number): void {
    this.inFlight = count;
  }

  databaseReady(event: { timeToLinkMs: number }): void {
    this.throughput.record(this.clock.now(), event.timeToLinkMs);
  }

  orphanDeleted(): void {
    this.orphans++;
  }

  gateChanged(state: GateState): void {
    this.gate = state;
  }

  subscriptionChanged(name: string, open: boolean): void {
    this.subscriptions.set(name, open);
  }

  resubscribed(): void {
    this.resubscribes++;
  }

  databaseCounts(counts: Record<string, number>, backups?: BackupTotals): void {
    this.counts = { ...counts };
    if (backups) this.backups = { ...backups };
  }

  /** Backup totals from the latest census; null before the first one. */
  get backupTotalsNow(): BackupTotals | null {
    return this.backups;
  }

  /** Not on the page: the main app's write load is a metric. */
  mainAppWrites(): void {}

  /** Counts move at once; the next census corrects any drift. */
  statusChanged(from: string | null, to: string | null): void {
    if (!this.counts) return;
    if (from !== null) this.counts[from] = Math.max(0, (this.counts[from] ?? 0) - 1);
    if (to !== null) this.counts[to] = (this.counts[to] ?? 0) + 1;
  }

  createPath(path: CreatePath): void {
    this.path = path;
  }

  tasksStuck(count: number): void {
    this.stuck = count;
  }

  /** Tasks the main app keeps refusing, backing off. */
  get stuckTasks(): number {
    return this.stuck;
  }

  /** How this daemon's claims make their apps; null until it has decided. */
  get createPathNow(): CreatePath | null {
    return this.path;
  }

  /** The gate now; `now` decides whether a pause is still on. */
  gateView(now: number): GateView {
    const gate = this.gate;
    const iso = (ms: number) => new Date(ms).toISOString();
    if (gate.kind === 'blocked')
      return {
        state: 'blocked',
        reason: gate.reason,
        message: gate.message,
        since: iso(gate.since),
        nextProbeAt: iso(gate.nextProbeAt),
      };
    if (gate.kind === 'paced' && gate.until > now) return { state: 'paced', until: iso(gate.until) };
    return { state: 'ok' };
  }

  /** The reason creates are paused for every task, or null. */
  get blockReason(): string | null {
    return this.gate.kind === 'blocked' ? this.gate.reason : null;
  }

  /** Every subscription the feed has reported, open or not. */
  subscriptionStates(): Record<string, boolean> {
    return Object.fromEntries(this.subscriptions);
  }

  /** Counts from the latest census; null before the first one. */
  get databaseCountsNow(): Record<string, number> | null {
    return this.counts;
  }

  get activity() {
    return {
      createsInFlight: this.inFlight,
      orphansDeleted: this.orphans,
      resubscribes: this.resubscribes,
      lastPlatformFailure: this.lastFailure,
    };
  }
}

export interface Readiness {
  ready: boolean;
  /** e.g. `subscription-down: unlinked tasks`, `creates-blocked: app-creation-disabled`. */
  reasons: string[];
  gate: GateView;
  /** How this daemon's claims make their apps: chosen-id or server-id (null before it decided). */
  createPath: CreatePath | null;
  /** Tasks the main app keeps refusing to claim, backing off (they do not make the daemon unready). */
  stuckTasks: number;
}

/**
 * Ready: every subscription the feed opened is open, and creates are not paused
 * for everyone. Before the feed reports any subscription, not ready either.
 */
export function readiness(state: LiveState, now: number): Readiness {
  const reasons: string[] = [];
  const subscriptions = Object.entries(state.subscriptionStates());
  if (subscriptions.length === 0) reasons.push('subscriptions-not-started');
  for (const [name, open] of subscriptions) if (!open) reasons.push(`subscription-down: ${name}`);
  const block = state.blockReason;
  if (block !== null) reasons.push(`creates-blocked: ${block}`);
  return {
    ready: reasons.length === 0,
    reasons,
    gate: state.gateView(now),
    createPath: state.createPathNow,
    stuckTasks: state.stuckTasks,
  };
}
