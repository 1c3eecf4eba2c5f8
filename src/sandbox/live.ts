/**
 * `subscribe-query` streams (protocol doc §6). After a transaction the changes are queued and,
 * on the next turn of the event loop, each subscription whose dependencies they touch is
 * recomputed once (however many transactions arrived) and gets `refresh-ok` only when its
 * serialized result changed.
 *
 * Recomputing a creation-ordered, limited scan is kept cheap: a subscription remembers where its
 * previous result started; no entity before that point matched then, and only entities the
 * changes reach (directly or through the where clause's links) can have started matching since,
 * so the new scan starts at the earliest of those that matches now, or at the old start.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { SandboxApp } from './apps.js';
import { SandboxHttpError, type Json } from './errors.js';
import { traceId } from './http.js';
import { CompiledQuery } from './instaql.js';
import { compareOrderKeys, type Change, type OrderKey } from './store.js';
import { prepareMatcher, rootsReaching, type Visibility } from './where.js';

interface Subscription {
  readonly app: SandboxApp;
  readonly res: ServerResponse;
  readonly query: Record<string, unknown>;
  readonly queryJson: string;
  readonly inference: boolean;
  /** Null once the query failed: like the server, a failed query is never registered or recomputed. */
  compiled: CompiledQuery | null;
  lastResultJson: string;
  firstKeys: Map<string, OrderKey | null>;
  /** For impersonated readers: a fresh rule visibility per run (rules may read anything, so every change recomputes). */
  readonly seen: (() => Visibility) | undefined;
}

/** Past every entity: "nothing matched before". */
const END: OrderKey = { createdAt: Number.POSITIVE_INFINITY, id: '' };
/** Above this many changed roots a full scan is as cheap as checking them. */
const MAX_DIRTY_ROOTS = 20_000;

/** All open subscribe-query streams of a sandbox, and the recomputation after writes. */
export class LiveQueries {
  private readonly subs = new Map<SandboxApp, Set<Subscription>>();
  private readonly pending = new Map<SandboxApp, Change[]>();
  private pendingTxId = 0;
  private scheduled: NodeJS.Immediate | null = null;
  private readonly keepAlive: NodeJS.Timeout;
  /** refresh-ok messages sent. */
  refreshes = 0;
  /** Subscriptions recomputed after transactions (changed or not). */
  recomputes = 0;

  constructor(keepAliveMs: number) {
    // A comment line keeps idle streams alive (undici drops bodies silent for ~300 s).
    this.keepAlive = setInterval(() => this.writeAll(':\n'), keepAliveMs).unref();
  }

  /** Number of open streams. */
  get openCount(): number {
    let n = 0;
    for (const set of this.subs.values()) n += set.size;
    return n;
  }

  /** Turns an authenticated request into a stream: retry, sse-init, then add-query-ok or an error op. */
  open(
    app: SandboxApp,
    res: ServerResponse,
    query: Record<string, unknown>,
    inference: boolean,
    txId: number,
    seen?: () => Visibility,
  ): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'nocache', connection: 'keep-alive' });
    res.write('retry:500\n\n');
    send(res, { op: 'sse-init', 'machine-id': randomUUID(), 'session-id': randomUUID(), 'sse-token': randomUUID() });
    const sub: Subscription = {
      app,
      res,
      query,
      queryJson: JSON.stringify(query),
      inference,
      compiled: null,
      lastResultJson: '',
      firstKeys: new Map(),
      seen,
    };
    let set = this.subs.get(app);
    if (!set) {
      set = new Set();
      this.subs.set(app, set);
    }
    set.add(sub);
    res.on('close', () => set.delete(sub));
    try {
      sub.compiled = CompiledQuery.compile(app.catalog, query, inference);
      const run = sub.compiled.run(app.store, undefined, seen?.());
      sub.firstKeys = run.firstKeys;
      sub.lastResultJson = JSON.stringify(run.result);
      res.write(
        `data:{"op":"add-query-ok","q":${sub.queryJson},"result":${sub.lastResultJson},` +
          `"result-meta":${JSON.stringify({ 'page-info': run.pageInfo, aggregate: {} })},"processed-tx-id":${txId},` +
          `"client-event-id":"${randomUUID()}","trace-id":"${traceId()}"}\n\n`,
      );
    } catch (error) {
      this.sendError(sub, error);
    }
  }

  /** Queues a committed transaction's changes; subscribers hear about them after the response. */
  notify(app: SandboxApp, changes: Change[], txId: number): void {
    if (!this.subs.get(app)?.size) return;
    const queue = this.pending.get(app);
    if (queue) for (const c of changes) queue.push(c);
    else this.pending.set(app, [...changes]);
    this.pendingTxId = txId;
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Ends every open stream (the SDK reconnects after `retry:500`); returns how many. */
  dropAll(): number {
    let n = 0;
    for (const set of this.subs.values()) {
      for (const sub of [...set]) {
        sub.res.end();
        set.delete(sub);
        n++;
      }
    }
    return n;
  }

  close(): void {
    clearInterval(this.keepAlive);
    if (this.scheduled) clearImmediate(this.scheduled);
    this.dropAll();
  }

  private flush(): void {
    this.scheduled = null;
    const batches = [...this.pending];
    this.pending.clear();
    for (const [app, changes] of batches) {
      const touched = new Set<string>();
      const blobNs = new Set<string>();
      for (const c of changes) {
        touched.add(`${c.ns}\u0000${c.label}`);
        if (!c.link) blobNs.add(c.ns);
      }
      for (const sub of this.subs.get(app) ?? []) {
        try {
          this.refresh(sub, changes, touched, blobNs);
        } catch (error) {
          this.sendError(sub, error);
        }
      }
    }
  }

  private refresh(sub: Subscription, changes: Change[], touched: Set<string>, blobNs: Set<string>): void {
    const { app } = sub;
    if (!sub.compiled) return;
    let starts: Map<string, OrderKey> | undefined;
    if (sub.compiled.catalogVersion !== app.catalog.version) {
      // New attributes can make a where path resolvable: recompile and rescan.
      sub.compiled = CompiledQuery.compile(app.catalog, sub.query, sub.inference);
    } else if (!sub.seen) {
      if (!dependsOn(sub.compiled.deps, touched, blobNs)) return;
      starts = this.resumePoints(sub, sub.compiled, changes);
    }
    this.recomputes++;
    const run = sub.compiled.run(app.store, starts, sub.seen?.());
    sub.firstKeys = run.firstKeys;
    const resultJson = JSON.stringify(run.result);
    if (resultJson === sub.lastResultJson) return;
    sub.lastResultJson = resultJson;
    this.refreshes++;
    const meta = JSON.stringify({ 'page-info': run.pageInfo, aggregate: {} });
    sub.res.write(
      `data:{"op":"refresh-ok","processed-tx-id":${this.pendingTxId},"computations":[{"instaql-query":${sub.queryJson},` +
        `"instaql-result":${resultJson},"result-meta":${meta},"result-changed?":true}],"trace-id":"${traceId()}"}\n\n`,
    );
  }

  /** Where each creation-ordered scan may resume (see the header); absent keys scan from the start. */
  private resumePoints(sub: Subscription, compiled: CompiledQuery, changes: Change[]): Map<string, OrderKey> {
    const starts = new Map<string, OrderKey>();
    for (const [key, previous] of sub.firstKeys) {
      const node = compiled.nodes.find((n) => n.key === key)!;
      const paths = compiled.wherePaths(key);
      const roots = new Set<string>();
      for (const c of changes) {
        rootsReaching(sub.app.store, node.ns, paths, c.ns, c.id, roots);
        if (roots.size > MAX_DIRTY_ROOTS) break;
      }
      if (roots.size > MAX_DIRTY_ROOTS) continue;
      let start = previous ?? END;
      const match = node.where && prepareMatcher(sub.app.store, node.ns, node.where);
      for (const id of roots) {
        const e = sub.app.store.entity(node.ns, id);
        if (e && compareOrderKeys(e, start) < 0 && (!match || match(id))) start = e;
      }
      starts.set(key, start);
    }
    return starts;
  }

  private sendError(sub: Subscription, error: unknown): void {
    sub.compiled = null;
    const body: Record<string, Json> =
      error instanceof SandboxHttpError && error.jsonBody
        ? { ...error.jsonBody }
        : { message: 'Yikes, something broke on our end! Sorry about that.' };
    const status = error instanceof SandboxHttpError ? error.status : 500;
    send(sub.res, {
      op: 'error',
      status,
      ...body,
      'client-event-id': randomUUID(),
      'original-event': { op: 'add-query', q: sub.query as Json, 'return-type': 'tree' },
    });
  }

  private writeAll(text: string): void {
    for (const set of this.subs.values()) for (const sub of set) sub.res.write(text);
  }
}

function send(res: ServerResponse, message: Record<string, Json>): void {
  res.write(`data:${JSON.stringify({ ...message, 'trace-id': traceId() })}\n\n`);
}

/** True when a change touches one of the (namespace, label) pairs a query depends on. */
function dependsOn(deps: ReadonlySet<string>, touched: Set<string>, blobNs: Set<string>): boolean {
  for (const dep of deps) {
    if (dep.endsWith('\u0000$blobs') ? blobNs.has(dep.slice(0, -7)) : touched.has(dep)) return true;
  }
  return false;
}
