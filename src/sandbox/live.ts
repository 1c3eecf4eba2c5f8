/**
 * Live queries: the admin SDK's `subscribe-query` streams (protocol doc §6) and the client
 * protocol's `add-query` subscriptions (client/session.ts) share this machinery. After a
 * transaction the changes are queued and, on the next turn of the event loop, each subscription
 * whose dependencies they touch is recomputed once (however many transactions arrived) and hears
 * about it only when its serialized result changed. Subscriptions with the same share key (same
 * query, same reader, same wire format) are evaluated once per turn.
 *
 * A subscription's dependencies are the (namespace, label) pairs its query reads, plus, for a
 * rule-filtered reader, what the rules of those namespaces read (rules/rule-deps.ts); a rule
 * whose reads cannot be told makes every change of the app recompute it.
 *
 * Recomputing a creation-ordered, limited scan is kept cheap: a subscription without rules
 * remembers where its previous result started; no entity before that point matched then, and only
 * entities the changes reach (directly or through the where clause's links) can have started
 * matching since, so the new scan starts at the earliest of those that matches now, or at the old
 * start.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { SandboxApp } from './apps.js';
import { SandboxHttpError, type Json } from './errors.js';
import { traceId } from './http.js';
import { CompiledQuery } from './instaql.js';
import { rulesFor } from './rules/program.js';
import { ruleDependencies } from './rules/rule-deps.js';
import { compareOrderKeys, type Change, type EntityStore, type OrderKey } from './store.js';
import { prepareMatcher, rootsReaching, type Visibility } from './where.js';

/** One evaluation of a live query, serialized for its subscriber. */
export interface LiveResult {
  /** The result as sent; equal text means nothing changed. */
  readonly json: string;
  /** Per top-level key scanned in creation order: the first matching entity (null: none). */
  readonly firstKeys: Map<string, OrderKey | null>;
  /** Protocol extras that travel beside the result (the SSE stream's `result-meta`). */
  readonly meta?: string;
}

/** Evaluates a compiled query in one wire format. */
export type LiveEvaluator = (
  compiled: CompiledQuery,
  store: EntityStore,
  starts: ReadonlyMap<string, OrderKey> | undefined,
  seen: Visibility | undefined,
) => LiveResult;

/** A live query to register. */
export interface LiveQuerySpec {
  readonly app: SandboxApp;
  readonly query: Record<string, unknown>;
  readonly inference: boolean;
  readonly evaluate: LiveEvaluator;
  /** For rule-filtered readers: a fresh rule visibility per run. */
  readonly seen?: () => Visibility;
  /** Subscriptions with equal keys share one evaluation per turn (undefined: never shared). */
  readonly shareKey?: string;
  /** Hears about a changed result; `txId` is the last transaction it includes. */
  changed(result: LiveResult, txId: number): void;
  /** Hears that a recompute failed; the subscription is not recomputed again. */
  failed(error: unknown): void;
}

/** A registered live query. */
export interface LiveSubscription {
  /** The first result. */
  readonly initial: LiveResult;
  /** Stops recomputing it. */
  close(): void;
}

interface Subscription {
  readonly spec: LiveQuerySpec;
  /** Null once a recompute failed: like the server, a failed query is never recomputed. */
  compiled: CompiledQuery | null;
  /** What the rules read (rule-filtered readers); null: anything; recomputed with the query or the rules. */
  ruleDeps: Set<string> | null;
  rulesOf: Json;
  lastJson: string;
  firstKeys: Map<string, OrderKey | null>;
}

/** Past every entity: "nothing matched before". */
const END: OrderKey = { createdAt: Number.POSITIVE_INFINITY, id: '' };
/** Above this many changed roots a full scan is as cheap as checking them. */
const MAX_DIRTY_ROOTS = 20_000;

/** All live queries of a sandbox, and the recomputation after writes. */
export class LiveQueries {
  private readonly subs = new Map<SandboxApp, Set<Subscription>>();
  private readonly watchers = new Map<SandboxApp, Set<(txId: number) => void>>();
  private readonly streams = new Set<ServerResponse>();
  private readonly pending = new Map<SandboxApp, Change[]>();
  private pendingTxId = 0;
  private scheduled: NodeJS.Immediate | null = null;
  private readonly keepAlive: NodeJS.Timeout;
  /** refresh-ok messages sent (results that changed). */
  refreshes = 0;
  /** Subscriptions recomputed after transactions (changed or not). */
  recomputes = 0;

  constructor(keepAliveMs: number) {
    // A comment line keeps idle streams alive (undici drops bodies silent for ~300 s).
    this.keepAlive = setInterval(() => {
      for (const res of this.streams) res.write(':\n');
    }, keepAliveMs).unref();
  }

  /** Number of open subscribe-query streams. */
  get openCount(): number {
    return this.streams.size;
  }

  /**
   * Compiles and evaluates a query and keeps it live. Throws (and registers nothing) when the
   * query fails, so the caller answers with the error.
   */
  subscribe(spec: LiveQuerySpec): LiveSubscription {
    const compiled = CompiledQuery.compile(spec.app.catalog, spec.query, spec.inference);
    const initial = spec.evaluate(compiled, spec.app.store, undefined, spec.seen?.());
    const sub: Subscription = {
      spec,
      compiled,
      ruleDeps: null,
      rulesOf: null,
      lastJson: initial.json,
      firstKeys: initial.firstKeys,
    };
    if (spec.seen) this.updateRuleDeps(sub, compiled);
    let set = this.subs.get(spec.app);
    if (!set) {
      set = new Set();
      this.subs.set(spec.app, set);
    }
    set.add(sub);
    const subs = set;
    return { initial, close: () => subs.delete(sub) };
  }

  /** Calls `listener` after every batch of `app`'s transactions has been recomputed; returns the stop. */
  watch(app: SandboxApp, listener: (txId: number) => void): () => void {
    let set = this.watchers.get(app);
    if (!set) {
      set = new Set();
      this.watchers.set(app, set);
    }
    set.add(listener);
    const listeners = set;
    return () => listeners.delete(listener);
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
    this.streams.add(res);
    const queryJson = JSON.stringify(query);
    const fail = (error: unknown) => {
      const body: Record<string, Json> =
        error instanceof SandboxHttpError && error.jsonBody
          ? { ...error.jsonBody }
          : { message: 'Yikes, something broke on our end! Sorry about that.' };
      const status = error instanceof SandboxHttpError ? error.status : 500;
      send(res, {
        op: 'error',
        status,
        ...body,
        'client-event-id': randomUUID(),
        'original-event': { op: 'add-query', q: query as Json, 'return-type': 'tree' },
      });
    };
    let subscription: LiveSubscription;
    try {
      subscription = this.subscribe({
        app,
        query,
        inference,
        ...(seen ? { seen } : {}),
        evaluate: evaluateTree,
        changed: (result, changedTxId) =>
          res.write(
            `data:{"op":"refresh-ok","processed-tx-id":${changedTxId},"computations":[{"instaql-query":${queryJson},` +
              `"instaql-result":${result.json},"result-meta":${result.meta},"result-changed?":true}],"trace-id":"${traceId()}"}\n\n`,
          ),
        failed: fail,
      });
    } catch (error) {
      res.on('close', () => this.streams.delete(res));
      return fail(error);
    }
    res.on('close', () => {
      this.streams.delete(res);
      subscription.close();
    });
    const { initial } = subscription;
    res.write(
      `data:{"op":"add-query-ok","q":${queryJson},"result":${initial.json},"result-meta":${initial.meta},` +
        `"processed-tx-id":${txId},"client-event-id":"${randomUUID()}","trace-id":"${traceId()}"}\n\n`,
    );
  }

  /** Queues a committed transaction's changes; subscribers hear about them after the response. */
  notify(app: SandboxApp, changes: Change[], txId: number): void {
    if (!this.subs.get(app)?.size && !this.watchers.get(app)?.size) return;
    const queue = this.pending.get(app);
    if (queue) for (const c of changes) queue.push(c);
    else this.pending.set(app, [...changes]);
    this.pendingTxId = txId;
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Ends every open subscribe-query stream (the SDK reconnects after `retry:500`); returns how many. */
  dropAll(): number {
    const n = this.streams.size;
    for (const res of [...this.streams]) {
      this.streams.delete(res);
      res.end();
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
    const txId = this.pendingTxId;
    for (const [app, changes] of batches) {
      const touched = new Set<string>();
      const blobNs = new Set<string>();
      for (const c of changes) {
        touched.add(`${c.ns}\u0000${c.label}`);
        if (!c.link) blobNs.add(c.ns);
      }
      const shared = new Map<string, LiveResult>();
      for (const sub of [...(this.subs.get(app) ?? [])]) {
        try {
          this.refresh(sub, changes, touched, blobNs, shared, txId);
        } catch (error) {
          sub.compiled = null;
          sub.spec.failed(error);
        }
      }
      for (const listener of [...(this.watchers.get(app) ?? [])]) listener(txId);
    }
  }

  private refresh(
    sub: Subscription,
    changes: Change[],
    touched: Set<string>,
    blobNs: Set<string>,
    shared: Map<string, LiveResult>,
    txId: number,
  ): void {
    const { app, seen, shareKey } = sub.spec;
    if (!sub.compiled) return;
    let starts: Map<string, OrderKey> | undefined;
    if (sub.compiled.catalogVersion !== app.catalog.version) {
      // New attributes can make a where path resolvable: recompile and rescan.
      sub.compiled = CompiledQuery.compile(app.catalog, sub.spec.query, sub.spec.inference);
      if (seen) this.updateRuleDeps(sub, sub.compiled);
    } else if (seen) {
      if (sub.rulesOf !== app.perms) this.updateRuleDeps(sub, sub.compiled);
      const ruleDeps = sub.ruleDeps;
      if (ruleDeps && !dependsOn(sub.compiled.deps, touched, blobNs) && !dependsOn(ruleDeps, touched, blobNs)) return;
    } else {
      if (!dependsOn(sub.compiled.deps, touched, blobNs)) return;
      starts = this.resumePoints(sub, sub.compiled, changes);
    }
    let result = shareKey === undefined ? undefined : shared.get(shareKey);
    if (!result) {
      this.recomputes++;
      result = sub.spec.evaluate(sub.compiled, app.store, starts, seen?.());
      if (shareKey !== undefined) shared.set(shareKey, result);
    }
    sub.firstKeys = result.firstKeys;
    if (result.json === sub.lastJson) return;
    sub.lastJson = result.json;
    this.refreshes++;
    sub.spec.changed(result, txId);
  }

  private updateRuleDeps(sub: Subscription, compiled: CompiledQuery): void {
    const { app } = sub.spec;
    sub.rulesOf = app.perms;
    sub.ruleDeps = ruleDependencies(rulesFor(app.perms), app.catalog, compiled.namespaces());
  }

  /** Where each creation-ordered scan may resume (see the header); absent keys scan from the start. */
  private resumePoints(sub: Subscription, compiled: CompiledQuery, changes: Change[]): Map<string, OrderKey> {
    const { store } = sub.spec.app;
    const starts = new Map<string, OrderKey>();
    for (const [key, previous] of sub.firstKeys) {
      const node = compiled.nodes.find((n) => n.key === key)!;
      const paths = compiled.wherePaths(key);
      const roots = new Set<string>();
      for (const c of changes) {
        rootsReaching(store, node.ns, paths, c.ns, c.id, roots);
        if (roots.size > MAX_DIRTY_ROOTS) break;
      }
      if (roots.size > MAX_DIRTY_ROOTS) continue;
      let start = previous ?? END;
      const match = node.where && prepareMatcher(store, node.ns, node.where);
      for (const id of roots) {
        const e = store.entity(node.ns, id);
        if (e && compareOrderKeys(e, start) < 0 && (!match || match(id))) start = e;
      }
      starts.set(key, start);
    }
    return starts;
  }
}

/** The admin SDK's result: the tree `/admin/query` answers, with page-info in `result-meta`. */
const evaluateTree: LiveEvaluator = (compiled, store, starts, seen) => {
  const run = compiled.run(store, starts, seen);
  return {
    json: JSON.stringify(run.result),
    firstKeys: run.firstKeys,
    meta: JSON.stringify({ 'page-info': run.pageInfo, aggregate: {} }),
  };
};

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
