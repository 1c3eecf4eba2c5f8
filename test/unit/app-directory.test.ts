/** One listing at a time, shared by every lookup that can use it. */
import { describe, expect, it } from 'vitest';
import { AppDirectory } from '../../src/core/create-paths/app-directory.js';
import type { PlatformClient } from '../../src/core/ports.js';
import type { ListedApp, ListingFilter } from '../../src/core/types.js';
import { FakeClock, settle } from '../fakes/fake-clock.js';

/** A Platform whose listings answer when the test says so. */
function slowPlatform(clock: FakeClock) {
  const listings: Array<{ filter: ListingFilter; startedAt: number; answer: (apps: ListedApp[]) => void }> = [];
  let running = 0;
  let mostAtOnce = 0;
  const platform = {
    listApps(filter: ListingFilter) {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      return new Promise<ListedApp[]>((resolve) =>
        listings.push({
          filter: { ...filter, ...(filter.titles ? { titles: new Set(filter.titles) } : {}) },
          startedAt: clock.now(),
          answer: (apps) => {
            running--;
            resolve(apps);
          },
        }),
      );
    },
  } as unknown as PlatformClient;
  return { platform, listings, mostAtOnce: () => mostAtOnce };
}

const app = (title: string, createdAt: number): ListedApp => ({ id: `id-${title}`, title, createdAt });

describe('the app directory', () => {
  it('runs one listing at a time: lookups that arrive during one share the next, which starts after it', async () => {
    const clock = new FakeClock();
    const { platform, listings, mostAtOnce } = slowPlatform(clock);
    const directory = new AppDirectory(platform, clock, 60_000, 20);

    const first = directory.findByTitle('a', clock.now());
    await clock.advance(20);
    expect(listings).toHaveLength(1);

    // Both need a listing that starts after now: the one under way cannot answer them.
    const second = directory.findByTitle('b', clock.now());
    await clock.advance(5);
    const sweep = directory.createdSince(clock.now() - 1_000, clock.now());
    await clock.advance(500);
    expect(listings).toHaveLength(1);

    const finishedAt = clock.now();
    listings[0]!.answer([app('a', 0), app('b', 0)]);
    expect((await first).map((found) => found.title)).toEqual(['a']);
    await settle();
    expect(listings).toHaveLength(2);
    expect(listings[1]!.startedAt).toBe(finishedAt);
    expect([...listings[1]!.filter.titles!]).toEqual(['b']);
    expect(listings[1]!.filter.createdSince).toBe(finishedAt - 500 - 1_000);

    listings[1]!.answer([app('b', finishedAt), app('c', finishedAt)]);
    expect((await second).map((found) => found.title)).toEqual(['b']);
    expect((await sweep).map((found) => found.title)).toEqual(['b', 'c']);
    expect(mostAtOnce()).toBe(1);
  });

  it('waits longer for lookups to join when listings are slow (a big account), and not when they are fast', async () => {
    const clock = new FakeClock();
    const { platform, listings } = slowPlatform(clock);
    const directory = new AppDirectory(platform, clock, 60_000, 20, 2_000);
    const startsAfter = async (answerAfterMs: number) => {
      const asked = clock.now();
      const lookup = directory.findByTitle('a', asked);
      await clock.advanceToNextTimer();
      const listing = listings.shift()!;
      await clock.advance(answerAfterMs);
      listing.answer([]);
      await lookup;
      return listing.startedAt - asked;
    };
    expect(await startsAfter(300)).toBe(20);
    // The last listing took 300 ms: the next waits three times that for company.
    expect(await startsAfter(5_000)).toBe(900);
    expect(await startsAfter(10)).toBe(2_000); // at most maxWindowMs
    expect(await startsAfter(10)).toBe(30);
    expect(await startsAfter(1)).toBe(30);
    expect(await startsAfter(1)).toBe(20);
  });

  it('a listing that failed does not hold back the next', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const platform = {
      listApps: () => (++calls === 1 ? Promise.reject(new Error('502')) : Promise.resolve([app('a', 0)])),
    } as unknown as PlatformClient;
    const directory = new AppDirectory(platform, clock, 60_000, 20);
    const failed = directory.findByTitle('a', clock.now());
    const failure = expect(failed).rejects.toThrow('502');
    await clock.advance(20);
    await failure;
    const next = directory.findByTitle('a', clock.now());
    await clock.advance(20);
    expect(await next).toEqual([app('a', 0)]);
    expect(calls).toBe(2);
  });
});
