/**
 * Finds apps by title through GET /superadmin/apps, one listing shared by every
 * concurrent lookup.
 *
 * A lookup says from when a listing is good enough (`notBefore`): the moment
 * after which no create for that title can still land. A listing that started
 * after that moment can answer it, whether it is still running or finished a
 * moment ago; an older one cannot, so a new listing starts. (Strictly after: a
 * listing started in the same millisecond may have started just before.)
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

interface Listing {
  startedAt: number;
  apps: Promise<ListedApp[]>;
  settledAt: number | null;
}

export class AppDirectory {
  private latest: Listing | null = null;

  constructor(
    private readonly platform: PlatformClient,
    private readonly clock: Clock,
    /** Request timeout for one listing. */
    private readonly timeoutMs: number,
    /** How long a finished listing keeps answering lookups (bounds memory, not correctness). */
    private readonly reuseMs = 5_000,
  ) {}

  /** Apps titled `title`, from a listing that started after `notBefore`. */
  async findByTitle(title: string, notBefore: number): Promise<ListedApp[]> {
    const apps = await this.listing(notBefore);
    return apps.filter((app) => app.title === title);
  }

  /** Every app, from a listing that started after `notBefore`. */
  listAll(notBefore: number): Promise<ListedApp[]> {
    return this.listing(notBefore);
  }

  private listing(notBefore: number): Promise<ListedApp[]> {
    const now = this.clock.now();
    const latest = this.latest;
    const fresh =
      latest !== null &&
      latest.startedAt > notBefore &&
      (latest.settledAt === null || now - latest.settledAt <= this.reuseMs);
    if (fresh) return latest.apps;

    const apps = withDeadline(
      this.clock,
      this.timeoutMs,
      (signal) => this.platform.listApps(signal),
      () => new PlatformError('timeout', 'the Platform API did not answer in time'),
    );
    const listing: Listing = { startedAt: now, apps, settledAt: null };
    this.latest = listing;
    apps.then(
      () => {
        listing.settledAt = this.clock.now();
      },
      () => {
        // A failed listing answers nobody else.
        if (this.latest === listing) this.latest = null;
      },
    );
    return listing.apps;
  }
}
