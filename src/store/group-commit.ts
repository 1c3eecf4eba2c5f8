/**
 * Sends writes that arrive together as one transaction (group commit): while a
 * transaction is in flight, the writes that queue up behind it go out next, in
 * one request. A busy daemon makes two writes per task (the claim and the ready
 * write); each is a request to the main app, and that HTTP was most of the
 * daemon's CPU. Nothing waits on purpose: an idle daemon still sends each write
 * at once.
 *
 * A transaction is all or nothing, so a group is only an optimisation:
 * - it commits: every write in it committed;
 * - the main app refuses it (a unique value taken, a guarded entity gone, any
 *   other 4xx): nothing committed, and each write is sent again on its own, so
 *   each gets its own answer and one refused write costs no other;
 * - no answer (timeout, network, 429, 5xx) or a global failure: every write
 *   gets that error, exactly as if it had been sent alone and met it.
 * Writes that touch the same entity never share a group, so no group holds two
 * writes that only make sense in order.
 */
import { StoreError, type StoreErrorKind } from '../errors.js';

export interface Write<Step> {
  steps: Step[];
  /** Ids of the entities the steps touch. */
  entities: string[];
}

/** Refusals: the main app read the group and committed none of it. */
const REFUSED: ReadonlySet<StoreErrorKind> = new Set(['unique-violation', 'missing-entity', 'rejected']);

interface Queued<Step> extends Write<Step> {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitStats {
  /** Writes asked for. */
  writes: number;
  /** Transactions sent for them (groups, singles, and retries one by one). */
  transactions: number;
}

export interface GroupCommitOptions {
  /** Transactions (groups) in flight at once. */
  maxInFlight?: number;
  /** Steps in one group at most; a single write larger than this still goes, alone. */
  maxSteps?: number;
  /** Told when a group is done: how many writes it held and how many transactions they took. */
  report?: (writes: number, transactions: number) => void;
}

export class GroupCommit<Step> {
  private readonly queue: Array<Queued<Step>> = [];
  private inFlight = 0;
  readonly stats: GroupCommitStats = { writes: 0, transactions: 0 };

  private readonly maxInFlight: number;
  private readonly maxSteps: number;
  private readonly report: (writes: number, transactions: number) => void;

  constructor(
    /** Sends one transaction; failures are StoreErrors. */
    private readonly send: (steps: Step[]) => Promise<void>,
    { maxInFlight = 1, maxSteps = 200, report = () => {} }: GroupCommitOptions = {},
  ) {
    this.maxInFlight = maxInFlight;
    this.maxSteps = maxSteps;
    this.report = report;
  }

  write(write: Write<Step>): Promise<void> {
    this.stats.writes++;
    return new Promise((resolve, reject) => {
      this.queue.push({ ...write, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const group = this.takeGroup();
      this.inFlight++;
      void this.commit(group).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }

  /**
   * The oldest writes that fit in one transaction and touch no entity twice. A write left
   * behind keeps its entities: no later write on them may overtake it.
   */
  private takeGroup(): Array<Queued<Step>> {
    const group: Array<Queued<Step>> = [];
    const touched = new Set<string>();
    let steps = 0;
    for (let i = 0; i < this.queue.length;) {
      const write = this.queue[i]!;
      if (group.length > 0 && steps + write.steps.length > this.maxSteps) break;
      const clashes = write.entities.some((entity) => touched.has(entity));
      for (const entity of write.entities) touched.add(entity);
      if (clashes) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      group.push(write);
      steps += write.steps.length;
    }
    return group;
  }

  private async commit(group: Array<Queued<Step>>): Promise<void> {
    this.report(group.length, await this.commitGroup(group));
  }

  /** Settles every write of the group; resolves with the number of transactions sent. */
  private async commitGroup(group: Array<Queued<Step>>): Promise<number> {
    if (group.length === 1) return this.sendAlone(group[0]!);
    try {
      this.stats.transactions++;
      await this.send(group.flatMap((write) => write.steps));
    } catch (error) {
      if (!(error instanceof StoreError && REFUSED.has(error.kind))) {
        for (const write of group) write.reject(error);
        return 1;
      }
      const alone = await Promise.all(group.map((write) => this.sendAlone(write)));
      return 1 + alone.length;
    }
    for (const write of group) write.resolve();
    return 1;
  }

  private async sendAlone(write: Queued<Step>): Promise<number> {
    try {
      this.stats.transactions++;
      await this.send(write.steps);
      write.resolve();
    } catch (error) {
      write.reject(error);
    }
    return 1;
  }
}
