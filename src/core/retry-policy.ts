/** Capped exponential backoff with full jitter; a wait the server asked for wins. */
export interface BackoffPolicy {
  /** Delay scale of the first retry. */
  baseMs: number;
  /** No delay is ever longer than this (a server's own wait excepted). */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (1 = the first retry): a uniformly random
 * value in [0, min(maxMs, baseMs · 2^(attempt-1))). Full jitter spreads retries
 * of many tasks that failed together (AWS Architecture Blog, "Exponential
 * Backoff And Jitter").
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

/** The server's requested wait when it gave one, else our backoff. */
export function retryDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number,
  retryAfterMs: number | undefined,
): number {
  return retryAfterMs !== undefined ? retryAfterMs : backoffDelay(attempt, policy, random);
}
