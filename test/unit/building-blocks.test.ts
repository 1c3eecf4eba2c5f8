import { describe, expect, it } from 'vitest';
import { CreateGate } from '../../src/core/create-gate.js';
import { withDeadline } from '../../src/core/deadline.js';
import { backoffDelay, retryDelay } from '../../src/core/retry-policy.js';
import { WorkQueue } from '../../src/core/work-queue.js';
import { PlatformError } from '../../src/errors.js';
import { FakeClock, settle } from '../fakes/fake-clock.js';

describe('backoff', () => {
  const policy = { baseMs: 1_000, maxMs: 30_000 };
  it('is full jitter under a doubling, capped ceiling', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => backoffDelay(attempt, policy, () => 0.999999))).toEqual([
      999, 1_999, 3_999, 7_999, 15_999, 29_999, 29_999,
    ]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(2_000);
  });
  it('lets the server’s wait win', () => {
    expect(retryDelay(1, policy, () => 0.5, 45_000)).toBe(45_000);
    expect(retryDelay(1, policy, () => 0.5, undefined)).toBe(500);
  });
});

describe('work queue', () => {
  it('never works a key twice at once, and works a key added meanwhile once more after', async () => {
    const clock = new FakeClock();
    const running = new Map<string, number>();
    let maxSame = 0;
    const done: string[] = [];
    const releases: Array<() => void> = [];
    const queue = new WorkQueue(clock, 4, async (key) => {
      running.set(key, (running.get(key) ?? 0) + 1);
      maxSame = Math.max(maxSame, running.get(key)!);
      await new Promise<void>((resolve) => releases.push(resolve));
      running.set(key, running.get(key)! - 1);
      done.push(key);
    });
    queue.add('a');
    queue.add('a');
    queue.add('b');
    await settle();
    queue.add('a'); // while a is being worked: dirty
    queue.add('a');
    expect(queue.activeCount).toBe(2);
    releases.shift()!();
    await settle();
    expect(queue.activeCount).toBe(2); // a again, and b
    while (releases.length) {
      releases.shift()!();
      await settle();
    }
    await queue.whenIdle();
    expect(done.sort()).toEqual(['a', 'a', 'b']);
    expect(maxSame).toBe(1);
  });

  it('caps concurrency, keeps order, and offer() ignores keys it knows', async () => {
    const clock = new FakeClock();
    const order: string[] = [];
    let active = 0;
    let peak = 0;
    const queue = new WorkQueue(clock, 2, async (key) => {
      active++;
      peak = Math.max(peak, active);
      order.push(key);
      await settle(1);
      active--;
    });
    for (const key of ['1', '2', '3', '4', '5']) queue.offer(key);
    queue.offer('1');
    await queue.whenIdle();
    expect(order).toEqual(['1', '2', '3', '4', '5']);
    expect(peak).toBe(2);
  });

  it('parks keys until later; the earliest schedule wins; stop forgets them', async () => {
    const clock = new FakeClock();
    const seen: Array<[string, number]> = [];
    const start = clock.now();
    const queue = new WorkQueue(clock, 1, async (key) => void seen.push([key, clock.now() - start]));
    queue.addAfter('x', 5_000);
    queue.addAfter('x', 2_000);
    queue.addAfter('x', 9_000);
    queue.addAfter('y', 10_000);
    expect(queue.size).toBe(2);
    await clock.advance(3_000);
    expect(seen).toEqual([['x', 2_000]]);
    queue.stop();
    await clock.advance(20_000);
    expect(seen).toEqual([['x', 2_000]]);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('create gate', () => {
  const rateLimited = (ms: number) => new PlatformError('rate-limited', 'slow down', { status: 429, retryAfterMs: ms });
  const rejected = () => new PlatformError('token-rejected', 'bad token', { status: 400 });

  it('holds every create back until a 429’s wait has passed', async () => {
    const clock = new FakeClock();
    const gate = new CreateGate(clock, { baseMs: 1_000, maxMs: 60_000 }, () => 0.5);
    gate.failed(rateLimited(7_000), false);
    const entered: number[] = [];
    const start = clock.now();
    for (let i = 0; i < 3; i++)
      void gate.enter(new AbortController().signal).then(() => entered.push(clock.now() - start));
    await clock.advance(6_999);
    expect(entered).toEqual([]);
    await clock.advance(1);
    expect(entered).toEqual([7_000, 7_000, 7_000]);
  });

  it('blocks on a global error, lets one probe through at a time, and reopens on success', async () => {
    const clock = new FakeClock();
    const gate = new CreateGate(clock, { baseMs: 30_000, maxMs: 600_000 }, () => 0.5);
    const blocked: string[] = [];
    gate.onBlocked((error) => blocked.push(error.message));
    gate.failed(rejected(), false);
    gate.failed(rejected(), false);
    expect(blocked).toEqual(['bad token']);
    const probes: boolean[] = [];
    const signal = new AbortController().signal;
    void gate.enter(signal).then((probe) => probes.push(probe));
    void gate.enter(signal).then((probe) => probes.push(probe));
    await clock.advance(60_000);
    expect(probes).toEqual([true]);
    gate.succeeded(true);
    await settle();
    expect(probes).toEqual([true, false]);
    expect(gate.blockedBy).toBeNull();
  });

  it('a probe that fails without settling anything (a 429, a 5xx) does not let the next probe through at once', async () => {
    const clock = new FakeClock();
    const gate = new CreateGate(clock, { baseMs: 30_000, maxMs: 600_000 }, () => 0.5);
    const signal = new AbortController().signal;
    gate.failed(rejected(), false);
    const probedAt: number[] = [];
    const start = clock.now();
    const probeAndFail = async (error: PlatformError) => {
      const probe = await gate.enter(signal);
      probedAt.push(clock.now() - start);
      gate.failed(error, probe);
    };
    // The first probe after 22.5 s (half of 30 s plus half the jittered 15 s); it gets a 429 asking for 120 s.
    const first = probeAndFail(rateLimited(120_000));
    const second = probeAndFail(new PlatformError('server', 'boom', { status: 503 }));
    const third = probeAndFail(rateLimited(1_000));
    await clock.advance(22_500);
    await first;
    expect(probedAt).toEqual([22_500]);
    // The 429's wait holds the next probe back for 120 s...
    await clock.advance(119_999);
    expect(probedAt).toEqual([22_500]);
    await clock.advance(1);
    await second;
    expect(probedAt).toEqual([22_500, 142_500]);
    // ...and the 5xx pushes the one after by the probe backoff, not to "at once".
    await clock.advance(29_999);
    expect(probedAt).toHaveLength(2);
    await clock.advance(600_000);
    await third;
    expect(probedAt).toHaveLength(3);
    expect(probedAt[2]! - probedAt[1]!).toBeGreaterThanOrEqual(30_000);
    expect(gate.blockedBy?.message).toBe('bad token');
  });

  it('a wait at the gate ends when its signal aborts', async () => {
    const clock = new FakeClock();
    const gate = new CreateGate(clock, { baseMs: 1_000, maxMs: 1_000 }, () => 0.5);
    gate.failed(rejected(), false);
    const controller = new AbortController();
    const waiting = gate.enter(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toThrow('aborted');
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('deadline', () => {
  it('aborts the signal and rejects with the timeout error, even when the operation ignores the signal', async () => {
    const clock = new FakeClock();
    let seen: AbortSignal | undefined;
    const outcome = withDeadline(
      clock,
      1_000,
      (signal) => {
        seen = signal;
        return new Promise<never>(() => {});
      },
      () => new Error('too slow'),
    ).catch((error: Error) => error.message);
    await clock.advance(999);
    expect(seen!.aborted).toBe(false);
    await clock.advance(1);
    expect(await outcome).toBe('too slow');
    expect(seen!.aborted).toBe(true);
  });

  it('settles with the operation when it is in time, and cancels its timer', async () => {
    const clock = new FakeClock();
    expect(
      await withDeadline(
        clock,
        1_000,
        async () => 42,
        () => new Error('too slow'),
      ),
    ).toBe(42);
    await expect(
      withDeadline(
        clock,
        1_000,
        async () => Promise.reject(new Error('own failure')),
        () => new Error('too slow'),
      ),
    ).rejects.toThrow('own failure');
    expect(clock.pendingTimers).toBe(0);
  });
});
