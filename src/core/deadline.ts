/** One deadline helper for every call that must not wait forever. */
import type { Clock } from '../clock.js';

/**
 * Runs `operation` with a signal that aborts after `ms` on `clock`. If the
 * operation has not settled by then it rejects with `onTimeout()`, even when
 * the operation ignores the signal (the Admin SDK takes none), so the caller
 * is never held longer than the deadline.
 */
export function withDeadline<T>(
  clock: Clock,
  ms: number,
  operation: (signal: AbortSignal) => Promise<T>,
  onTimeout: () => Error,
): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const cancel = clock.setTimer(() => {
      if (settled) return;
      settled = true;
      controller.abort();
      reject(onTimeout());
    }, ms);
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      cancel();
      outcome();
    };
    let running: Promise<T>;
    try {
      running = operation(controller.signal);
    } catch (error) {
      return finish(() => reject(error));
    }
    running.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}
