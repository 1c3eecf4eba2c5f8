/**
 * Finds apps by title, or by creation time, through GET /superadmin/apps: one
 * listing shared by every lookup that can use it.
 *
 * A lookup says from when a listing is good enough (`notBefore`): the moment
 * after which no create for that title can still land. A listing that starts
 * after that moment can answer it. Lookups join the next listing, which starts
 * a moment later (`batchMs`, longer when listings are slow: see `window`) so
 * that lookups arriving together share it; its filter is the union of theirs
 * (the platform adapter keeps only matching apps, so memory stays bounded
 * however many apps the account has). A listing
 * already under way cannot take new lookups: it is reading with a fixed filter.
 * (Strictly after `notBefore`: a listing started in the same millisecond may
 * have started just before.)
 *
 * One listing runs at a time; the next waits for it, taking every lookup that
 * arrives meanwhile. With 100,000 apps a listing is ~30 MB: lookups that each
 * started their own ran side by side, multiplying the memory and the CPU, and
 * starting later is always safe.
 */
import type { Clock } from '../../clock.js';
import { PlatformError } from '../../errors.js';
import { withDeadline } from '../deadline.js';
import type { PlatformClient } from '../ports.js';
import type { ListedApp } from '../types.js';

/**
 * Whether a listed app could have been made for a record: created after the
 * record was (minus a minute for whole-second timestamps and clock skew). An app
 * with a record's title but older than the record is someone else's; never ours to delete.
 */
export function madeAfter(app: ListedApp, recordCreatedAt: number): boolean {
  return app.createdAt >= recordCreatedAt - 60_000;
}

interface PendingListing {
  startsAt: number;
  titles: Set<string>;
  createdSince: number | undefined;
  result: Promise<ListedApp[]>;
}

/**
 * A listing waits this many times as long as the last one took for lookups to join it. Measured
 * with 100,000 apps and one create in ten losing its answer: 0 → 16.7 ms of daemon CPU per task,
 * time-to-link p99 0.87 s; 3 → 11.5 ms, p99 1.6 s; 8 → 11–12.8 ms, p99 2.5–3.7 s.
 */
const WINDOW_PER_LISTING = 3;

export class AppDirectory {
  private next: PendingListing | null = null;
  /** Settles when the last listing asked for has finished. */
  private previous: Promise<unknown> = Promise.resolve();
  /** How long the last listing took: the account's size, as the daemon feels it. */
  private lastListingMs = 0;

  constructor(
    private readonly platform: PlatformClient,
    private readonly clock: Clock,
    /** Request timeout for one listing. */
    private readonly timeoutMs: number,
    /** How long a listing waits for more lookups to join it, at least. */
    private readonly batchMs = 20,
    /** Waits at most this long when listings are slow (see `window`). */
    private readonly maxWindowMs = 2_000,
  ) {}

  /** Apps titled `title`, from a listing that started after `notBefore`. */
  async findByTitle(title: string, notBefore: number): Promise<ListedApp[]> {
    const listing = this.join(notBefore);
    listing.titles.add(title);
    return (await listing.result).filter((app) => app.title === title);
  }

  /** Apps created at or after `since`, from a listing that started after `notBefore`. */
  async createdSince(since: number, notBefore: number): Promise<ListedApp[]> {
    const listing = this.join(notBefore);
    listing.createdSince = Math.min(listing.createdSince ?? since, since);
    return (await listing.result).filter((app) => app.createdAt >= since);
  }

  private join(notBefore: number): PendingListing {
    const now = this.clock.now();
    if (this.next && this.next.startsAt > notBefore) return this.next;
    const startsAt = Math.max(now + this.window(), notBefore + 1);
    let begin: () => void = () => {};
    const started = new Promise<void>((resolve) => (begin = resolve));
    const listing: PendingListing = {
      startsAt,
      titles: new Set(),
      createdSince: undefined,
      result: started.then(() => this.list(listing)),
    };
    this.next = listing;
    const previous = this.previous;
    this.previous = listing.result.catch(() => {});
    this.clock.setTimer(() => {
      void previous.then(() => {
        if (this.next === listing) this.next = null;
        begin();
      });
    }, startsAt - now);
    return listing;
  }

  /**
   * How long the next listing waits for lookups to join it. In a small account a listing is
   * cheap and `batchMs` is all. In a big one each listing is the whole account (~30 MB and
   * ~70 ms of CPU at 100,000 apps, and as much again for the server to send), so the wait grows
   * with how long the last listing took, keeping listings a small share of the time. The lookups
   * that wait are those of lost answers, takeovers and sweeps: rare, and never on the fast path.
   */
  private window(): number {
    return Math.max(this.batchMs, Math.min(this.maxWindowMs, WINDOW_PER_LISTING * this.lastListingMs));
  }

  private list(listing: PendingListing): Promise<ListedApp[]> {
    const filter = {
      titles: listing.titles,
      ...(listing.createdSince !== undefined ? { createdSince: listing.createdSince } : {}),
    };
    const started = this.clock.now();
    return withDeadline(
      this.clock,
      this.timeoutMs,
      (signal) => this.platform.listApps(filter, signal),
      () => new PlatformError('timeout', 'the Platform API did not answer in time'),
    ).finally(() => (this.lastListingMs = this.clock.now() - started));
  }
}
