/**
 * The one gate every Platform create passes, shared by all tasks.
 *
 * States:
 *   open     creates flow.
 *   paused   a 429 asked us to slow down: every create waits until `pausedUntil`.
 *   blocked  a global error (rejected platform token, app creation disabled): no
 *            task can succeed, so creates stop. After a growing delay one probe
 *            create is let through; any successful create reopens the gate.
 *
 * Transitions: open → paused (rateLimited) → open (time passes);
 *              open|paused → blocked (globalFailure) → blocked (probe fails, longer delay)
 *              blocked → open (succeeded).
 */
import { AbortedError, type Clock } from '../clock.js';
import type { PlatformError } from '../errors.js';
import type { GateState } from './ports.js';
import { backoffDelay, type BackoffPolicy } from './retry-policy.js';

/** What a block is called in metrics and readiness reasons: one short name per global error. */
const BLOCK_REASONS: Record<string, string> = {
  'creation-disabled': 'app-creation-disabled',
  'token-rejected': 'platform-token-rejected',
};

export interface GateBlock {
  error: PlatformError;
  since: number;
  probes: number;
  probeAt: number;
}

export class CreateGate {
  private pausedUntil = 0;
  private block: GateBlock | null = null;
  private probeInFlight = false;
  private readonly wakers = new Set<() => void>();
  private readonly blockListeners = new Set<(error: PlatformError) => void>();
  private readonly changeListeners = new Set<(state: GateState) => void>();

  constructor(
    private readonly clock: Clock,
    private readonly probePolicy: BackoffPolicy,
    private readonly random: () => number,
  ) {}

  /** Calls `listener` each time the gate goes from not blocked to blocked; returns an unsubscribe. */
  onBlocked(listener: (error: PlatformError) => void): () => void {
    this.blockListeners.add(listener);
    return () => this.blockListeners.delete(listener);
  }

  /**
   * Calls `listener` after every change of state: paced (a new or later pause), blocked
   * (and each failed probe, which moves the next probe), open again after a block. A pause
   * ends by time alone, with no call: a `paced` state whose `until` has passed is open.
   */
  onChange(listener: (state: GateState) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** The gate as it stands now. */
  get state(): GateState {
    const now = this.clock.now();
    if (this.block) {
      const { error, since, probeAt } = this.block;
      return {
        kind: 'blocked',
        reason: BLOCK_REASONS[error.kind] ?? error.kind,
        message: error.message,
        since,
        nextProbeAt: Math.max(probeAt, this.pausedUntil),
      };
    }
    return now < this.pausedUntil ? { kind: 'paced', until: this.pausedUntil } : { kind: 'open' };
  }

  /** The global error holding creates back, if any. */
  get blockedBy(): PlatformError | null {
    return this.block?.error ?? null;
  }

  /**
   * Waits until a create may be sent; resolves true when this create is the
   * probe of a blocked gate. Every `enter` must be followed by exactly one of
   * `succeeded`, `failed` or `withdrawn`, given that same flag.
   */
  async enter(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted) throw new AbortedError();
      const now = this.clock.now();
      if (this.block) {
        // A 429 answered to a probe holds the next probe back too.
        const probeAt = Math.max(this.block.probeAt, this.pausedUntil);
        if (!this.probeInFlight && now >= probeAt) {
          this.probeInFlight = true;
          return true;
        }
        await this.wait(this.probeInFlight ? undefined : probeAt - now, signal);
      } else if (now < this.pausedUntil) {
        await this.wait(this.pausedUntil - now, signal);
      } else {
        return false;
      }
    }
  }

  /** A create got an app back. */
  succeeded(probe: boolean): void {
    if (probe) this.probeInFlight = false;
    if (this.block) {
      this.block = null;
      this.wakeAll();
      this.changed();
    }
  }

  /** A create failed; rate limits and global errors affect every create. */
  failed(error: PlatformError, probe: boolean): void {
    if (probe) this.probeInFlight = false;
    const now = this.clock.now();
    const before = { pausedUntil: this.pausedUntil, block: this.block };
    if (error.kind === 'rate-limited') {
      const wait = error.retryAfterMs ?? backoffDelay(1, this.probePolicy, this.random);
      this.pausedUntil = Math.max(this.pausedUntil, now + wait);
    }
    if (error.scope === 'global') {
      const wasBlocked = this.block !== null;
      this.block = this.nextProbe(error, now);
      if (!wasBlocked) for (const listener of [...this.blockListeners]) listener(error);
    } else if (probe && this.block) {
      // The probe told us nothing (a 5xx, a timeout, a 429): the block stands, and
      // the next probe waits its turn instead of following at once.
      this.block = this.nextProbe(this.block.error, now);
    }
    this.wakeAll();
    if (this.pausedUntil !== before.pausedUntil || this.block !== before.block) this.changed();
  }

  private changed(): void {
    if (this.changeListeners.size === 0) return;
    const state = this.state;
    for (const listener of [...this.changeListeners]) listener(state);
  }

  /** The block after one more failed probe: at least half the capped delay, so a blocked daemon never hammers the API. */
  private nextProbe(error: PlatformError, now: number): GateBlock {
    const probes = (this.block?.probes ?? 0) + 1;
    const ceiling = Math.min(this.probePolicy.maxMs, this.probePolicy.baseMs * 2 ** Math.min(probes - 1, 30));
    const delay = ceiling / 2 + backoffDelay(probes, this.probePolicy, this.random) / 2;
    return { error, since: this.block?.since ?? now, probes, probeAt: now + delay };
  }

  /** An entered create was not sent after all. */
  withdrawn(probe: boolean): void {
    if (probe) this.probeInFlight = false;
    this.wakeAll();
  }

  private wait(ms: number | undefined, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      let cancelTimer = () => {};
      const finish = () => {
        cancelTimer();
        this.wakers.delete(finish);
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        cancelTimer();
        this.wakers.delete(finish);
        reject(new AbortedError());
      };
      this.wakers.add(finish);
      if (ms !== undefined) cancelTimer = this.clock.setTimer(finish, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }
}
