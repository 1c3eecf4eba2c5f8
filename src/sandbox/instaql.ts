/**
 * InstaQL queries (protocol doc §4, §7): validated and compiled against an app's catalogue,
 * then run against its store. Results are shaped as the server shapes them (§4.3): no wrapper,
 * `id` plus stored attributes verbatim, has-one links as object-or-null under inference, arrays
 * otherwise, un-requested has-one forward links as bare id strings, ordered by serverCreatedAt then id.
 */
import { validationFailed, type Json } from './errors.js';
import type { AttrCatalog, BlobAttr, RefAttr } from './schema.js';
import { compareOrderKeys, hasIndex, type EntityRecord, type EntityStore, type OrderKey } from './store.js';
import {
  compileWhere,
  linkHop,
  pathsOf,
  prepareMatcher,
  toMs,
  UnresolvablePath,
  type Cond,
  type PathCond,
  type Visibility,
} from './where.js';

/** One level of a query: a top-level namespace or a link under its parent. */
export interface QueryNode {
  readonly key: string;
  readonly ns: string;
  /** The link that leads here from the parent (absent at top level). */
  readonly via?: { ref: RefAttr; forward: boolean };
  /** False when the namespace, link or a where path does not exist: the node yields nothing. */
  readonly resolvable: boolean;
  readonly where?: Cond;
  readonly order: { attr: BlobAttr | null; desc: boolean };
  readonly limit?: number;
  readonly offset: number;
  readonly fields?: string[];
  /** Top-level nodes with limit/order/offset report page-info over SSE. */
  readonly paginated: boolean;
  readonly children: QueryNode[];
}

/** Page info of a top-level namespace (the server's kebab-case keys). */
export type PageInfo = Record<string, Json>;

/** What one run of a query produced. */
export interface QueryRun {
  readonly result: Record<string, unknown>;
  readonly pageInfo: Record<string, PageInfo>;
  /** Per top-level key scanned in creation order: the first matching entity (null: none). */
  readonly firstKeys: Map<string, OrderKey | null>;
}

const OPTION_KEYS = new Set(['where', 'order', 'limit', 'first', 'offset', 'fields']);
const UNSUPPORTED_KEYS = new Set(['last', 'before', 'after', 'beforeInclusive', 'afterInclusive', 'aggregate']);

/** A compiled query plus the (namespace, label) pairs its result depends on. */
export class CompiledQuery {
  private constructor(
    readonly nodes: QueryNode[],
    /** `ns\0label` keys; `ns\0$blobs` stands for every plain attribute (and existence) of ns. */
    readonly deps: ReadonlySet<string>,
    readonly catalogVersion: number,
    private readonly catalog: AttrCatalog,
    private readonly inference: boolean,
  ) {}

  /** Validates and compiles; throws validation-failed (data-type `query`) like the server. */
  static compile(catalog: AttrCatalog, query: Record<string, unknown>, inference: boolean): CompiledQuery {
    const root = query as Json;
    const nodes = Object.entries(query)
      .filter(([key]) => key !== '$$ruleParams')
      .map(([key, value]) => compileNode(catalog, root, key, value, undefined, 0));
    const deps = new Set<string>();
    for (const node of nodes) collectDeps(catalog, node, deps);
    return new CompiledQuery(nodes, deps, catalog.version, catalog, inference);
  }

  /**
   * Runs the query. `starts` lets a live query resume a creation-order scan (see live.ts);
   * `seen` (impersonated reads) drops entities, attributes and links the reader may not see.
   */
  run(store: EntityStore, starts?: ReadonlyMap<string, OrderKey>, seen?: Visibility): QueryRun {
    const result: Record<string, unknown> = {};
    const pageInfo: Record<string, PageInfo> = {};
    const firstKeys = new Map<string, OrderKey | null>();
    for (const node of this.nodes) {
      const top = selectTop(store, node, starts?.get(node.key), seen);
      if (top.firstKey !== undefined) firstKeys.set(node.key, top.firstKey);
      result[node.key] = top.page.map((e) => this.shape(store, node, e, seen));
      if (node.paginated) pageInfo[node.key] = pageInfoOf(this.catalog, node, top.page, top.hasNext);
    }
    return { result, pageInfo, firstKeys };
  }

  /** Every namespace the query reads: its nodes' and those its where paths pass through. */
  namespaces(): Set<string> {
    const out = new Set<string>();
    const visit = (node: QueryNode) => {
      out.add(node.ns);
      for (const path of pathsOf(node.where)) for (const hop of path.hops) out.add(hop.ns);
      node.children.forEach(visit);
    };
    this.nodes.forEach(visit);
    return out;
  }

  /** Where paths of a top-level node, for change-driven re-checks. */
  wherePaths(key: string): PathCond[] {
    return pathsOf(this.nodes.find((n) => n.key === key)?.where);
  }

  private shape(store: EntityStore, node: QueryNode, e: EntityRecord, seen?: Visibility): Record<string, unknown> {
    const out: Record<string, unknown> = { id: e.id };
    const wanted = node.fields && new Set(node.fields);
    const shown = (label: string) => (!wanted || wanted.has(label)) && (!seen || seen.field(node.ns, e.id, label));
    for (const label in e.attrs) if (shown(label)) out[label] = e.attrs[label];
    for (const ref of this.catalog.fwdRefsOf(node.ns)) {
      if (ref.cardinality !== 'one' || !shown(ref.label)) continue;
      const [target] = store.targets(ref, e.id);
      if (target !== undefined) out[ref.label] = target;
    }
    for (const child of node.children) {
      const linked = child.resolvable ? selectChildren(store, child, e.id, seen) : [];
      const shaped = linked.map((c) => this.shape(store, child, c, seen));
      const via = child.via;
      const singular =
        this.inference && via !== undefined && (via.forward ? via.ref.cardinality === 'one' : via.ref.unique);
      out[child.key] = singular ? (shaped[0] ?? null) : shaped;
    }
    return out;
  }
}

function compileNode(
  catalog: AttrCatalog,
  root: Json,
  key: string,
  value: unknown,
  parent: { ns: string } | undefined,
  level: number,
): QueryNode {
  if (!isMap(value)) throw validationFailed('query', root, [{ expected: 'map?', in: [key] }]);
  const hop = parent ? linkHop(catalog, parent.ns, key) : undefined;
  const ns = parent ? (hop?.ns ?? key) : key;
  const options = value['$'] ?? {};
  if (!isMap(options)) throw validationFailed('query', root, [{ expected: 'map?', in: [key, '$'] }]);
  for (const opt of Object.keys(options)) {
    if (UNSUPPORTED_KEYS.has(opt)) {
      throw validationFailed('query', root, [
        { expected: 'supported-options?', in: [key, '$'], message: `The sandbox does not support \`${opt}\`.` },
      ]);
    }
    if (!OPTION_KEYS.has(opt)) {
      const message = 'We only support `where`, `order`, `limit`, `offset`, `before`, and `after` clauses.';
      throw validationFailed('query', root, [{ expected: 'supported-options?', in: [key, '$'], message }]);
    }
  }
  const limit = positiveInt(root, options, 'limit') ?? positiveInt(root, options, 'first');
  if (options['limit'] !== undefined && options['first'] !== undefined) {
    throw validationFailed('query', root, [
      { expected: 'supported-options?', message: 'Only provide one of `limit` or `first`.' },
    ]);
  }
  const offset = options['offset'];
  if (offset !== undefined && (!Number.isInteger(offset) || (offset as number) < 0)) {
    const message = `The offset field must be a non-negative integer. Got ${JSON.stringify(offset)}.`;
    throw validationFailed('query', root, [{ expected: 'supported-options?', in: [key, '$', 'offset'], message }]);
  }
  if (level > 0 && offset !== undefined) {
    const message =
      'We currently only support `offset`, `before`, and `after` clauses on the top-level field. Limit fields will be ignored';
    throw validationFailed('query', root, [{ expected: 'supported-options?', in: [key, '$'], message }]);
  }
  const fields = options['fields'];
  if (fields !== undefined && (!Array.isArray(fields) || !fields.every((f) => typeof f === 'string'))) {
    throw validationFailed('query', root, [
      { expected: 'array?', message: 'The `fields` property should be an array of field names.' },
    ]);
  }
  let resolvable = parent ? hop !== undefined : catalog.hasNamespace(ns);
  let where: Cond | undefined;
  if (options['where'] !== undefined) {
    if (!isMap(options['where']))
      throw validationFailed('query', root, [{ expected: 'map?', in: [key, '$', 'where'] }]);
    try {
      if (Object.keys(options['where']).length) where = compileWhere(catalog, ns, options['where'], root);
    } catch (error) {
      if (!(error instanceof UnresolvablePath)) throw error;
      resolvable = false; // unknown attributes in `where` yield no rows rather than an error
    }
  }
  const order = compileOrder(catalog, root, key, ns, options['order'], level === 0 && resolvable);
  const children = Object.entries(value)
    .filter(([k]) => k !== '$')
    .map(([k, v]) => compileNode(catalog, root, k, v, { ns }, level + 1));
  const paginated = level === 0 && (limit !== undefined || offset !== undefined || options['order'] !== undefined);
  return {
    key,
    ns,
    ...(hop ? { via: { ref: hop.ref, forward: hop.forward } } : {}),
    resolvable,
    ...(where ? { where } : {}),
    order,
    ...(limit !== undefined ? { limit } : {}),
    offset: (offset as number | undefined) ?? 0,
    ...(fields ? { fields: fields as string[] } : {}),
    paginated,
    children,
  };
}

function compileOrder(
  catalog: AttrCatalog,
  root: Json,
  key: string,
  ns: string,
  order: unknown,
  check: boolean,
): QueryNode['order'] {
  if (order === undefined) return { attr: null, desc: false };
  const fail = (message: string, expected = 'supported-order?') =>
    validationFailed('query', root, [{ expected, in: [key, '$', 'order'], message }]);
  if (!isMap(order)) throw validationFailed('query', root, [{ expected: 'map?', in: [key, '$', 'order'] }]);
  const entries = Object.entries(order);
  if (entries.length === 0) return { attr: null, desc: false };
  if (entries.length > 1)
    throw fail(
      `We only support a single key in the \`order\` clause. Got ${entries.map(([k]) => k).join(',')}.`,
      'single-key?',
    );
  const [field, direction] = entries[0]!;
  if (direction !== 'asc' && direction !== 'desc') {
    throw fail(
      `We only support "asc" or "desc" in the \`order\` clause. Got ${JSON.stringify(direction)}.`,
      'valid-direction?',
    );
  }
  const desc = direction === 'desc';
  if (field === 'serverCreatedAt') return { attr: null, desc };
  const attr = catalog.blob(ns, field);
  if (check) {
    if (!attr) throw fail(`There is no \`${field}\` attribute for ${ns}.`);
    const problems: string[] = [];
    if (!attr.indexed)
      problems.push(
        `The \`${ns}.${field}\` attribute is not indexed. Only indexed and typed attributes can be used to order by.`,
      );
    if (!attr.checkedType)
      problems.push(
        `The \`${ns}.${field}\` attribute is not typed. Only typed and indexed attributes can be used to order by.`,
      );
    if (problems.length)
      throw validationFailed(
        'query',
        root,
        problems.map((message) => ({ expected: 'supported-order?', in: [key, '$', 'order'], message })),
      );
  }
  return { attr: attr ?? null, desc };
}

/** The matching entities of a top-level node, one page of them, and whether more follow. */
export function selectTop(store: EntityStore, node: QueryNode, start: OrderKey | undefined, seen?: Visibility) {
  const empty = { page: [] as EntityRecord[], hasNext: false, firstKey: undefined as OrderKey | null | undefined };
  const table = store.table(node.ns);
  if (!node.resolvable || !table) return empty;
  const want = node.limit === undefined ? Infinity : node.offset + node.limit;
  const match = node.where && prepareMatcher(store, node.ns, node.where, seen);
  // Unseen entities are dropped before the limit, as the server's rule-wheres do for simple rules.
  const test = (e: EntityRecord) => (!seen || seen.entity(node.ns, e.id)) && (!match || match(e.id));
  const pre = seen?.prefilter?.(node.ns);
  if (pre === null) return empty;
  const narrowing = pre && node.where ? ({ t: 'and', items: [node.where, pre] } as Cond) : (pre ?? node.where);
  const candidates = narrowing && candidateIds(store, narrowing);
  let all: EntityRecord[];
  let firstKey: OrderKey | null | undefined;
  if (!candidates && node.order.attr === null && !node.where && !seen && start === undefined) {
    // Every entity matches: a page is a slice of the creation order, however deep its offset.
    const order = store.compactOrder(node.ns);
    if (order) return sliceOfOrder(order, node, want);
  }
  if (!candidates && node.order.attr === null) {
    // Creation order is the table's own order: scan it and stop after the page (plus one, for has-next).
    all = [];
    const order = table.order;
    if (node.order.desc) {
      for (let i = order.length - 1; i >= 0 && all.length <= want; i--)
        if (order[i]!.alive && test(order[i]!)) all.push(order[i]!);
    } else {
      for (let i = start ? lowerBound(order, start) : 0; i < order.length && all.length <= want; i++) {
        if (order[i]!.alive && test(order[i]!)) all.push(order[i]!);
      }
      firstKey = all[0] ?? null;
    }
  } else {
    all = [];
    if (candidates) {
      for (const id of candidates) {
        const e = table.entities.get(id);
        if (e && test(e)) all.push(e);
      }
    } else {
      for (const e of table.entities.values()) if (test(e)) all.push(e);
    }
    all.sort(comparator(node.order));
  }
  const page = all.slice(node.offset, want);
  return { page, hasNext: all.length > want, firstKey };
}

/** A page of an unfiltered creation-order scan, by index into the (compacted) order. */
function sliceOfOrder(order: readonly EntityRecord[], node: QueryNode, want: number) {
  const end = Math.min(order.length, want);
  const page: EntityRecord[] = [];
  if (node.order.desc) {
    for (let i = order.length - 1 - node.offset; i >= order.length - end; i--) page.push(order[i]!);
  } else {
    for (let i = node.offset; i < end; i++) page.push(order[i]!);
  }
  return { page, hasNext: order.length > want, firstKey: node.order.desc ? undefined : (order[0] ?? null) };
}

/** The entities linked to `parentId` through a child node, as the reader may see them. */
export function selectChildren(
  store: EntityStore,
  node: QueryNode,
  parentId: string,
  seen?: Visibility,
): EntityRecord[] {
  const { ref, forward } = node.via!;
  const ids = forward ? store.targets(ref, parentId) : store.sources(ref, parentId);
  const out: EntityRecord[] = [];
  const match = node.where && prepareMatcher(store, node.ns, node.where, seen);
  // A child needs its own view rule and the link triple's (which lives on the forward side).
  const linkSeen = (id: string) =>
    !seen || (seen.entity(node.ns, id) && seen.field(ref.ns, forward ? parentId : id, ref.label));
  for (const id of ids) {
    const e = store.entity(node.ns, id);
    if (e && linkSeen(id) && (!match || match(id))) out.push(e);
  }
  out.sort(comparator(node.order));
  return node.limit === undefined ? out : out.slice(0, node.limit);
}

/** Ids that could match, from an index (`id`, unique/indexed attributes, a link's other side); null: scan. */
function candidateIds(store: EntityStore, where: Cond): Iterable<string> | null {
  let best: ReadonlySet<string> | string[] | null = null;
  const size = (c: ReadonlySet<string> | string[]) => (Array.isArray(c) ? c.length : c.size);
  for (const c of where.t === 'and' ? where.items : [where]) {
    if (c.t !== 'path' || (c.op.k !== 'eq' && c.op.k !== 'in')) continue;
    const values = c.op.k === 'eq' ? [c.op.v] : c.op.vs;
    let found: ReadonlySet<string> | string[] | null = null;
    if (c.hops.length === 0 && c.last.kind === 'id') {
      found = values.filter((v): v is string => typeof v === 'string');
    } else if (
      c.hops.length === 0 &&
      c.last.kind === 'attr' &&
      hasIndex(c.last.attr) &&
      !c.date &&
      !values.includes(null)
    ) {
      const attr = c.last.attr;
      found = union(values.map((v) => store.lookup(attr, v) ?? new Set<string>()));
    } else if (
      (c.last.kind === 'link' || c.last.kind === 'id') &&
      c.hops.length + (c.last.kind === 'link' ? 1 : 0) > 0
    ) {
      // `a.b.link = X` or `a.b.id = X`: walk the links backwards from X.
      const steps = c.last.kind === 'link' ? [...c.hops, c.last] : c.hops;
      let ids = new Set(values.filter((v): v is string => typeof v === 'string'));
      for (let i = steps.length - 1; i >= 0; i--) {
        const { ref, forward } = steps[i]!;
        const next = new Set<string>();
        for (const v of ids) for (const id of forward ? store.sources(ref, v) : store.targets(ref, v)) next.add(id);
        ids = next;
      }
      found = ids;
    }
    if (found && (!best || size(found) < size(best))) best = found;
  }
  return best;
}

function comparator(order: QueryNode['order']): (a: EntityRecord, b: EntityRecord) => number {
  const sign = order.desc ? -1 : 1;
  const attr = order.attr;
  if (!attr) return (a, b) => sign * compareOrderKeys(a, b);
  const date = attr.checkedType === 'date';
  return (a, b) => {
    const byValue = compareValues(a.attrs[attr.label], b.attrs[attr.label], date);
    return sign * (byValue !== 0 ? byValue : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  };
}

/** Sorts nulls first, then by type, then by value (dates as instants). */
function compareValues(a: unknown, b: unknown, date: boolean): number {
  const na = a === undefined || a === null;
  const nb = b === undefined || b === null;
  if (na || nb) return na === nb ? 0 : na ? -1 : 1;
  const x = date ? toMs(a) : a;
  const y = date ? toMs(b) : b;
  if (typeof x !== typeof y) return typeof x < typeof y ? -1 : 1;
  if (typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean') {
    const yy = y as typeof x;
    return x < yy ? -1 : x > yy ? 1 : 0;
  }
  const sx = JSON.stringify(x);
  const sy = JSON.stringify(y);
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}

/** Page info of a top-level node's page (start and end cursors as the server makes them). */
export function pageInfoOf(catalog: AttrCatalog, node: QueryNode, page: EntityRecord[], hasNext: boolean): PageInfo {
  const attrId = node.order.attr?.id ?? catalog.blob(node.ns, 'id')?.id ?? null;
  const cursor = (e: EntityRecord | undefined): Json =>
    e ? [e.id, attrId, node.order.attr ? ((e.attrs[node.order.attr.label] ?? null) as Json) : e.id, e.createdAt] : null;
  return {
    'start-cursor': cursor(page[0]),
    'end-cursor': cursor(page[page.length - 1]),
    'has-next-page?': hasNext,
    'has-previous-page?': node.offset > 0,
  };
}

function collectDeps(catalog: AttrCatalog, node: QueryNode, deps: Set<string>): void {
  deps.add(`${node.ns}\u0000$blobs`);
  for (const ref of catalog.fwdRefsOf(node.ns)) if (ref.cardinality === 'one') deps.add(`${node.ns}\u0000${ref.label}`);
  for (const path of pathsOf(node.where)) {
    let ns = node.ns;
    for (const hop of path.hops) {
      deps.add(`${ns}\u0000${hop.forward ? hop.ref.label : hop.ref.revLabel}`);
      ns = hop.ns;
    }
    const last = path.last;
    const label =
      last.kind === 'id'
        ? 'id'
        : last.kind === 'attr'
          ? last.attr.label
          : last.forward
            ? last.ref.label
            : last.ref.revLabel;
    deps.add(`${ns}\u0000${label}`);
  }
  for (const child of node.children) {
    deps.add(`${node.ns}\u0000${child.key}`);
    collectDeps(catalog, child, deps);
  }
}

function lowerBound(order: readonly EntityRecord[], key: OrderKey): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareOrderKeys(order[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function union(sets: Iterable<ReadonlySet<string>>): ReadonlySet<string> {
  const list = [...sets];
  if (list.length === 1) return list[0]!;
  const out = new Set<string>();
  for (const s of list) for (const id of s) out.add(id);
  return out;
}

function positiveInt(root: Json, options: Record<string, unknown>, field: 'limit' | 'first'): number | undefined {
  const value = options[field];
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || (value as number) <= 0) {
    const message = `The ${field} field must be a positive integer. Got ${JSON.stringify(value)}.`;
    throw validationFailed('query', root, [{ expected: 'supported-options?', in: [field], message }]);
  }
  return value as number;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
