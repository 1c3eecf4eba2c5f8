/**
 * Finds apps by title, or by creation time, through GET /superadmin/apps: one
 * listing shared by every lookup that can use it.
 *
 * A lookup says from when a listing is good enough (`notBefore`): the moment
 * after which no create for that title can still land. A listing that starts
 * after that moment can answer it. Lookups join the next listing, which starts
 * a moment later (`batchMs`) so that lookups arriving together share it; its
 * filter is the union of theirs (the platform adapter keeps only matching apps,
 * so memory stays bounded however many apps the account has). A listing
 * already under way cannot take new lookups: it is reading with a fixed filter.
 * (Strictly after `notBefore`: a listing started in the same millisecond may
 * have started just before.)
 *
 * One listing runs at a time; the next waits for it, taking every lookup that
 * arrives meanwhile. With 100,000 apps a listing is ~30 MB: lookups that each
 * started their own ran side by side, multiplying the memory and the CPU, and
 * starting later is always safe.
 */
import type { Clock } from '../clock.js';
import { PlatformError } from '../errors.js';
import { withDeadline } from './deadline.js';
import type { PlatformClient } from './ports.js';
import type { ListedApp } from './types.js';

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

export class AppDirectory {
  private next: PendingListing | null = null;
  /** Settles when the last listing asked for has finished. */
  private previous: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly platform: PlatformClient,
    private readonly clock: Clock,
    /** Request timeout for one listing. */
    private readonly timeoutMs: number,
    /** How long a listing waits for more lookups to join it. */
    private readonly batchMs = 20,
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
    const startsAt = Math.max(now + this.batchMs, notBefore + 1);
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

  private list(listing: PendingListing): Promise<ListedApp[]> {
    const filter = {
      titles: listing.titles,
      ...(listing.createdSince !== undefined ? { createdSince: listing.createdSince } : {}),
    };
    return withDeadline(
      this.clock,
      this.timeoutMs,
      (signal) => this.platform.listApps(filter, signal),
      () => new PlatformError('timeout', 'the Platform API did not answer in time'),
    );
  }
}
