/**
 * Time as a port. The core never reads `Date.now` or calls `setTimeout` itself,
 * so tests drive every lease, timeout and backoff with a fake clock.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `callback` after `ms`; returns a function that cancels it. */
  setTimer(callback: () => void, ms: number): () => void;
}

/**
 * The longest delay `setTimeout` honours (2^31 - 1 ms, about 24.8 days): a longer one, or
 * Infinity, fires after 1 ms, so a long grace or resync interval would spin the daemon.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, ms) {
    // Waits longer than a timer can hold go in steps, each re-aimed at the deadline.
    const due = Date.now() + Math.max(0, ms);
    let handle: NodeJS.Timeout;
    const arm = (wait: number) => {
      handle = setTimeout(
        () => {
          const left = due - Date.now();
          if (left > 0) arm(left);
          else callback();
        },
        Math.min(Math.max(0, wait), MAX_TIMER_MS),
      );
    };
    arm(ms);
    return () => clearTimeout(handle);
  },
};

/** Thrown by waits that end because their signal was aborted. */
export class AbortedError extends Error {
  constructor() {
    super('aborted');
    this.name = 'AbortedError';
  }
}

/** Resolves after `ms` on `clock`; rejects with AbortedError when `signal` aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const onAbort = () => {
      cancel();
      reject(new AbortedError());
    };
    const cancel = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
