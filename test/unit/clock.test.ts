/** The system clock on Node's real timers: any delay works, however long. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, systemClock } from '../../src/clock.js';

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('systemClock.setTimer', () => {
  it('never hands setTimeout a delay it would turn into 1 ms', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const thirtyDays = 30 * 86_400_000;
    const cancel = systemClock.setTimer(() => {}, thirtyDays);
    cancel();
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0]![1]).toBe(MAX_TIMER_MS);
  });

  it('a 30-day wait does not fire early on the real timers, and can be cancelled', async () => {
    const fired = vi.fn();
    const cancel = systemClock.setTimer(fired, 30 * 86_400_000);
    // Node would fire an over-long setTimeout after 1 ms; give it far more than that.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fired).not.toHaveBeenCalled();
    cancel();
  });

  it('fires a long wait once its deadline has come, in steps, and not before', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const fired = vi.fn();
    systemClock.setTimer(fired, 60 * 86_400_000);
    vi.advanceTimersByTime(59 * 86_400_000);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(86_400_000);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('a short wait is one plain timer', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const fired = vi.fn();
    systemClock.setTimer(fired, 250);
    vi.advanceTimersByTime(249);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });
});
