/** The copy commands' Platform calls: a 429 pauses every call to that server; failures that may pass are retried, others not. */
import { describe, expect, it } from 'vitest';
import { RatePause } from '../../src/copy/rate-pause.js';
import { pacedCall } from '../../src/core/operations/paced-call.js';
import { PlatformError } from '../../src/errors.js';
import { FakeClock, settle } from '../fakes/fake-clock.js';

function setup() {
  const clock = new FakeClock();
  const pause = new RatePause(clock);
  const settings = { clock, random: () => 0.5, requestTimeoutMs: 5_000, pause };
  return { clock, pause, settings, signal: new AbortController().signal };
}

describe('pacedCall', () => {
  it('a 429 on one call holds every other call to the server until the wait it asked for is over', async () => {
    const { clock, settings, signal } = setup();
    const sent: Array<{ call: string; at: number }> = [];
    let first = true;
    const limited = pacedCall(
      settings,
      async () => {
        sent.push({ call: 'a', at: clock.now() });
        if (first) {
          first = false;
          throw new PlatformError('rate-limited', 'slow down', { status: 429, retryAfterMs: 3_000 });
        }
        return 'a';
      },
      signal,
    );
    await settle();
    const other = pacedCall(
      settings,
      async () => {
        sent.push({ call: 'b', at: clock.now() });
        return 'b';
      },
      signal,
    );
    await clock.advance(2_999);
    expect(sent).toEqual([{ call: 'a', at: clock.now() - 2_999 }]);
    await clock.advance(1);
    expect(await Promise.all([limited, other])).toEqual(['a', 'b']);
    const start = sent[0]!.at;
    expect(
      sent
        .slice(1)
        .map((entry) => [entry.call, entry.at - start])
        .sort(),
    ).toEqual([
      ['a', 3_000],
      ['b', 3_000],
    ]);
  });

  it('retries what may pass (no answer, 5xx) with backoff, and gives up after the attempts', async () => {
    const { clock, settings, signal } = setup();
    let calls = 0;
    const failing = pacedCall(
      { ...settings, attempts: 3 },
      async () => {
        calls++;
        throw new PlatformError('server', 'boom', { status: 500 });
      },
      signal,
    );
    const outcome = failing.catch((error: unknown) => error);
    await clock.until(() => calls === 3, 60_000);
    expect(await outcome).toMatchObject({ kind: 'server' });
    expect(calls).toBe(3);
  });

  it('does not retry a refusal', async () => {
    const { settings, signal } = setup();
    let calls = 0;
    const refused = pacedCall(
      settings,
      async () => {
        calls++;
        throw new PlatformError('already-exists', 'taken', { status: 400 });
      },
      signal,
    );
    await expect(refused).rejects.toMatchObject({ kind: 'already-exists' });
    expect(calls).toBe(1);
  });
});
