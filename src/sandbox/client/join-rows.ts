/**
 * A query's result in the client protocol's format (reactive/query.clj ›
 * collect-instaql-results-for-client): one node whose single join-row holds every triple the
 * client needs to run the query itself (`@instantdb/core` re-runs InstaQL on these triples):
 *
 *   [{"data":{"datalog-result":{"join-rows":[[[e, attrId, value, createdAt], …]]},"page-info":{…}},"child-nodes":[]}]
 *
 * For each entity the query selects: its `id` triple (whose createdAt orders results), its plain
 * attributes (only those in `fields`, plus the order attribute, when fields are given), the
 * triples its where clauses walk (link triples, the `id` triples of the entities they reach, the
 * compared attribute), and the link triples to its children. Everything goes through the
 * reader's rule visibility, so an entity or a field a rule hides never leaves the sandbox.
 */
import type { CompiledQuery, QueryNode } from '../instaql.js';
import { pageInfoOf, selectChildren, selectTop, type PageInfo } from '../instaql.js';
import type { LiveResult } from '../live.js';
import type { AttrCatalog, RefAttr } from '../schema.js';
import type { EntityRecord, EntityStore, OrderKey } from '../store.js';
import { pathsOf, type PathCond, type Visibility } from '../where.js';

type Triple = [string, string, unknown, number];

/** Runs `compiled` and serializes its join-rows result (the `result` of add-query-ok). */
export function evaluateJoinRows(
  catalog: AttrCatalog,
  compiled: CompiledQuery,
  store: EntityStore,
  starts: ReadonlyMap<string, OrderKey> | undefined,
  seen: Visibility | undefined,
): LiveResult {
  const rows = new TripleCollector(catalog, store, seen);
  const pageInfo: Record<string, PageInfo> = {};
  const firstKeys = new Map<string, OrderKey | null>();
  for (const node of compiled.nodes) {
    const top = selectTop(store, node, starts?.get(node.key), seen);
    if (top.firstKey !== undefined) firstKeys.set(node.key, top.firstKey);
    for (const e of top.page) rows.entity(node, e);
    if (node.paginated) pageInfo[node.key] = pageInfoOf(catalog, node, top.page, top.hasNext);
  }
  const info = Object.keys(pageInfo).length ? `,"page-info":${JSON.stringify(pageInfo)}` : '';
  const json = `[{"data":{"datalog-result":{"join-rows":[${JSON.stringify(rows.triples)}]}${info}},"child-nodes":[]}]`;
  return { json, firstKeys };
}

/** Collects the triples of selected entities once each. */
class TripleCollector {
  readonly triples: Triple[] = [];
  private readonly emitted = new Set<string>();

  constructor(
    private readonly catalog: AttrCatalog,
    private readonly store: EntityStore,
    private readonly seen: Visibility | undefined,
  ) {}

  /** An entity selected by `node`, with what its where clauses walk and its children. */
  entity(node: QueryNode, e: EntityRecord): void {
    this.idTriple(e);
    const wanted = node.fields && new Set(node.fields);
    if (wanted && node.order.attr) wanted.add(node.order.attr.label);
    for (const label in e.attrs) if (!wanted || wanted.has(label)) this.attrTriple(e, label);
    for (const path of pathsOf(node.where)) this.wherePath(e, path);
    for (const child of node.children) {
      if (!child.resolvable) continue;
      const { ref, forward } = child.via!;
      for (const c of selectChildren(this.store, child, e.id, this.seen)) {
        this.linkTriple(ref.id, forward ? e.id : c.id, forward ? c.id : e.id, e.createdAt);
        this.entity(child, c);
      }
    }
  }

  /** The triples the client's where matcher reads along `path`, as far as the reader may see. */
  private wherePath(root: EntityRecord, path: PathCond): void {
    let frontier = [root];
    for (const hop of path.hops) {
      const next: EntityRecord[] = [];
      for (const at of frontier) for (const other of this.linked(at, hop.ref, hop.forward, hop.ns)) next.push(other);
      frontier = next;
    }
    const last = path.last;
    for (const at of frontier) {
      if (last.kind === 'attr') this.attrTriple(at, last.attr.label);
      else if (last.kind === 'link')
        this.linked(at, last.ref, last.forward, last.forward ? last.ref.revNs : last.ref.ns);
    }
  }

  /** Visible entities linked to `at` (emitting the link triples and their id triples). */
  private linked(at: EntityRecord, ref: RefAttr, forward: boolean, ns: string): EntityRecord[] {
    const out: EntityRecord[] = [];
    const ids = forward ? this.store.targets(ref, at.id) : this.store.sources(ref, at.id);
    for (const id of ids) {
      const other = this.store.entity(ns, id);
      if (!other) continue;
      const source = forward ? at.id : id;
      if (this.seen && (!this.seen.entity(ns, id) || !this.seen.field(ref.ns, source, ref.label))) continue;
      this.linkTriple(ref.id, source, forward ? id : at.id, at.createdAt);
      this.idTriple(other);
      out.push(other);
    }
    return out;
  }

  private idTriple(e: EntityRecord): void {
    const attr = this.catalog.blob(e.ns, 'id');
    if (!attr || !this.once(`${e.id}\u0000${attr.id}`)) return;
    this.triples.push([e.id, attr.id, e.id, e.createdAt]);
  }

  private attrTriple(e: EntityRecord, label: string): void {
    const attr = this.catalog.blob(e.ns, label);
    if (!attr || !Object.hasOwn(e.attrs, label)) return;
    if (this.seen && !this.seen.field(e.ns, e.id, label)) return;
    if (!this.once(`${e.id}\u0000${attr.id}`)) return;
    this.triples.push([e.id, attr.id, e.attrs[label], e.createdAt]);
  }

  private linkTriple(attrId: string, source: string, target: string, createdAt: number): void {
    if (this.once(`${source}\u0000${attrId}\u0000${target}`)) this.triples.push([source, attrId, target, createdAt]);
  }

  private once(key: string): boolean {
    if (this.emitted.has(key)) return false;
    this.emitted.add(key);
    return true;
  }
}
