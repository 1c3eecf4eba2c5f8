/** Request counters of a sandbox, for the inspection API and benchmarks. */
import type { FaultKind } from './faults.js';

/** A snapshot of what the sandbox has served. */
export interface SandboxStats {
  /** Faults injected so far, by kind. */
  faults: Record<FaultKind, number>;
  /** `POST /superadmin/apps` requests received (faulted ones included). */
  createRequests: number;
  /** Apps created through the Platform API (including `createLost` and `createMissingToken`, which do create). */
  creates: number;
  /** Apps created with `Sandbox.createApp`. */
  programmaticCreates: number;
  /** Apps deleted through the Platform API. */
  deletes: number;
  /** `GET /superadmin/apps` requests answered. */
  lists: number;
  /** `GET /superadmin/apps/:id` requests answered. */
  gets: number;
  /** Transactions committed. */
  transacts: number;
  /** Transactions refused (validation, uniqueness, injected failures). */
  failedTransacts: number;
  /** `/admin/query` requests answered. */
  queries: number;
  /** `subscribe-query` streams opened (reconnects included). */
  subscribes: number;
  /** Streams open now. */
  openSubscriptions: number;
  /** Client protocol sessions (`/runtime/session` WebSockets) open now. */
  clientSessions: number;
  /**
   * Requests held on purpose now: hung creates, and creates and transacts waiting out an injected
   * latency (until answered or their connection closes). A test on a fake clock moves time once
   * every request in flight is held, so no deadline fires under a request still being served.
   */
  held: number;
  /** Subscriptions recomputed after a transaction touched their data. */
  recomputes: number;
  /** `refresh-ok` messages sent (recomputes whose result changed). */
  refreshes: number;
}

/** The mutable counters behind SandboxStats (faults and open streams are counted elsewhere). */
export type Counters = Omit<
  SandboxStats,
  'faults' | 'openSubscriptions' | 'clientSessions' | 'held' | 'recomputes' | 'refreshes'
>;

/** All counters at zero. */
export function newCounters(): Counters {
  return {
    createRequests: 0,
    creates: 0,
    programmaticCreates: 0,
    deletes: 0,
    lists: 0,
    gets: 0,
    transacts: 0,
    failedTransacts: 0,
    queries: 0,
    subscribes: 0,
  };
}
