/** What the route modules share: one sandbox's state and services. */
import type { ServerResponse } from 'node:http';
import type { AppRegistry } from './apps.js';
import type { FaultInjector } from './faults.js';
import type { IndexingJobs } from './schema-push.js';
import type { LiveQueries } from './live.js';
import type { Counters } from './stats.js';

/** The shared state a route handler works with. */
export interface SandboxContext {
  readonly apps: AppRegistry;
  readonly platformToken: string;
  readonly faults: FaultInjector;
  /**
   * Whether the sandbox answers as Instant Cloud has since sign-ups closed: `POST /dash/apps`
   * (chosen ids) refused with 400 `app-creation-disabled`, `POST /superadmin/apps` still creating.
   * A mode of the server, not a fault: resetting the faults leaves it.
   */
  readonly mode: { cloud: boolean };
  readonly live: LiveQueries;
  readonly counters: Counters;
  /** Background jobs started by schema pushes. */
  readonly indexingJobs: IndexingJobs;
  /** Seeded UUIDs (app ids, tokens, entities created by lookups). */
  readonly newId: () => string;
  /** Issues the next transaction id (one sequence across apps, like the real server's). */
  nextTxId(): number;
  /** The last transaction id issued. */
  lastTxId(): number;
  /** Resolves after `ms` on a timer; never resolves if the sandbox closes first. */
  delay(ms: number): Promise<void>;
  /**
   * Counts a request as held on purpose (hung, or waiting out a latency) until the returned
   * function is called or its connection closes, whichever comes first; see `SandboxStats.held`.
   */
  hold(res: ServerResponse): () => void;
}
