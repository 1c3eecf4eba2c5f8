/**
 * Platform API calls of the copy commands (`restore`, `migrate`): each under the request deadline,
 * retried while the failure may pass (no answer, 5xx), and paced per server: a 429 pauses every
 * request to that server (the same pause its admin-API copies wait on), not only the one that got it.
 * Only idempotent calls come here (a create with a chosen id, reads, rules pushes, deletes).
 */
import { sleep, type Clock } from '../../clock.js';
import { PlatformError } from '../../errors.js';
import { withDeadline } from '../deadline.js';
import { retryDelay, type BackoffPolicy } from '../retry-policy.js';

/** One server's shared pause (src/copy/rate-pause.ts): a 429 from it holds every request to it back. */
export interface ServerPause {
  pauseFor(ms: number): void;
  wait(signal: AbortSignal): Promise<void>;
}

export interface PacedCallSettings {
  clock: Clock;
  random: () => number;
  requestTimeoutMs: number;
  pause: ServerPause;
  /** Tries for failures that may pass; 429s are waited out on top. */
  attempts?: number;
  backoff?: BackoffPolicy;
}

/** A server that keeps answering 429 is given up on after this many waits in one call. */
const MAX_RATE_LIMITED = 50;

/** Runs `operation` until it succeeds or fails for good; throws the last PlatformError (or AbortedError). */
export async function pacedCall<T>(
  settings: PacedCallSettings,
  operation: (signal: AbortSignal) => Promise<T>,
  signal: AbortSignal,
): Promise<T> {
  const { clock, random, requestTimeoutMs, pause, attempts = 5, backoff = { baseMs: 500, maxMs: 30_000 } } = settings;
  let failures = 0;
  let rateLimited = 0;
  for (;;) {
    await pause.wait(signal);
    try {
      return await withDeadline(
        clock,
        requestTimeoutMs,
        (deadline) => operation(AbortSignal.any([deadline, signal])),
        () => new PlatformError('timeout', 'the Platform API did not answer in time'),
      );
    } catch (error) {
      if (signal.aborted || !(error instanceof PlatformError)) throw error;
      if (error.kind === 'rate-limited') {
        if (++rateLimited > MAX_RATE_LIMITED) throw error;
        pause.pauseFor(retryDelay(rateLimited, backoff, random, error.retryAfterMs));
        continue;
      }
      if (!error.retryable || ++failures >= attempts) throw error;
      await sleep(clock, retryDelay(failures, backoff, random, error.retryAfterMs), signal);
    }
  }
}
