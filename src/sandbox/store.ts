/**
 * One app's data in memory: entities per namespace in creation order, unique/indexed value
 * indexes, and link sets in both directions. Every mutation runs inside a transaction that keeps
 * an undo log, so a failing step rolls the whole request back (the real server runs one Postgres
 * transaction per request) and records Changes that live queries match against.
 */
import { recordNotUnique, validationFailedRaw } from './errors.js';
import type { AttrCatalog, BlobAttr, RefAttr } from './schema.js';

/** An entity as stored. `attrs` holds plain attributes only (not `id`, not links). */
export interface EntityRecord {
  readonly id: string;
  readonly ns: string;
  /** serverCreatedAt: ms when the id was first written; never changes afterwards. */
  readonly createdAt: number;
  readonly attrs: Record<string, unknown>;
  alive: boolean;
}

/** One written triple, as live queries see it: `label` is `id` for creation/deletion. */
export interface Change {
  readonly ns: string;
  readonly id: string;
  readonly label: string;
  readonly link: boolean;
}

/** Sort key of the default order: serverCreatedAt, then id (Postgres UUID order). */
export interface OrderKey {
  readonly createdAt: number;
  readonly id: string;
}

/** Orders by serverCreatedAt, ties by id. */
export function compareOrderKeys(a: OrderKey, b: OrderKey): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Index key for a non-null value; strings, numbers and booleans never collide with each other. */
export function valueKey(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `s${value}`;
    case 'number':
      return `n${value}`;
    case 'boolean':
      return `b${value}`;
    default:
      return `j${JSON.stringify(value)}`;
  }
}

/** A namespace's entities: by id, and in creation order (dead records are swept lazily). */
export class NamespaceTable {
  readonly entities = new Map<string, EntityRecord>();
  order: EntityRecord[] = [];
  deadInOrder = 0;
}

interface LinkSets {
  readonly fwd: Map<string, Set<string>>;
  readonly rev: Map<string, Set<string>>;
}

const EMPTY: ReadonlySet<string> = new Set();
const EMPTY_MAP: ReadonlyMap<string, ReadonlySet<string>> = new Map<string, ReadonlySet<string>>();

/** The entities, indexes and links of one app; writes only inside begin()/commit() or rollback(). */
export class EntityStore {
  private readonly tables = new Map<string, NamespaceTable>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly links = new Map<string, LinkSets>();
  private lastCreatedAt = 0;
  private undo: (() => void)[] | null = null;
  private changes: Change[] = [];
  private touched = new Map<string, { ns: string; id: string }>();
  private created = new Set<string>();

  constructor(
    private readonly catalog: AttrCatalog,
    private readonly now: () => number = Date.now,
  ) {}

  // ---- reads ----

  table(ns: string): NamespaceTable | undefined {
    return this.tables.get(ns);
  }

  entity(ns: string, id: string): EntityRecord | undefined {
    return this.tables.get(ns)?.entities.get(id);
  }

  /** Ids holding `value` in an indexed or unique attribute; undefined when the attribute has no index. */
  lookup(attr: BlobAttr, value: unknown): ReadonlySet<string> | undefined {
    if (!hasIndex(attr)) return undefined;
    if (value === null || value === undefined) return undefined;
    return this.indexes.get(attr.id)?.get(valueKey(value)) ?? EMPTY;
  }

  targets(ref: RefAttr, source: string): ReadonlySet<string> {
    return this.links.get(ref.id)?.fwd.get(source) ?? EMPTY;
  }

  sources(ref: RefAttr, target: string): ReadonlySet<string> {
    return this.links.get(ref.id)?.rev.get(target) ?? EMPTY;
  }

  /** All links of `ref` keyed by source (`forward`) or by target; valid until the next write. */
  linkMap(ref: RefAttr, forward: boolean): ReadonlyMap<string, ReadonlySet<string>> {
    const sets = this.links.get(ref.id);
    return (forward ? sets?.fwd : sets?.rev) ?? EMPTY_MAP;
  }

  /** True when the entity holds any triple of its namespace (alive, or link-only "ghost"). */
  hasTriples(ns: string, id: string): boolean {
    if (this.entity(ns, id)) return true;
    for (const ref of this.catalog.fwdRefsOf(ns)) if (this.targets(ref, id).size) return true;
    return false;
  }

  // ---- transactions ----

  begin(): void {
    if (this.undo) throw new Error('a sandbox transaction is already open');
    this.undo = [];
    this.changes = [];
    this.touched = new Map();
    this.created = new Set();
  }

  /** Registers an undo step for work done outside the store (catalogue additions). */
  onRollback(fn: () => void): void {
    this.log().push(fn);
  }

  /** Entities whose own triples were written in this transaction (the required-attribute check runs on them). */
  touchedEntities(): Iterable<{ ns: string; id: string }> {
    return this.touched.values();
  }

  /** True when `ns/id` was created by this transaction. */
  createdInTx(ns: string, id: string): boolean {
    return this.created.has(`${ns}\u0000${id}`);
  }

  commit(): Change[] {
    this.log();
    const changes = this.changes;
    this.undo = null;
    this.changes = [];
    for (const table of this.tables.values()) {
      // Sweep dead records once they are a quarter of the order; keeps binary searches short.
      if (table.deadInOrder > 256 && table.deadInOrder * 4 > table.order.length) {
        table.order = table.order.filter((e) => e.alive);
        table.deadInOrder = 0;
      }
    }
    return changes;
  }

  rollback(): void {
    const undo = this.log();
    for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
    this.undo = null;
    this.changes = [];
  }

  // ---- writes ----

  /** The live entity `ns/id`, created (with a fresh serverCreatedAt) when absent. */
  ensureEntity(ns: string, id: string): EntityRecord {
    const table = this.tableFor(ns);
    const existing = table.entities.get(id);
    if (existing) return existing;
    this.lastCreatedAt = Math.max(this.now(), this.lastCreatedAt);
    const record: EntityRecord = { id, ns, createdAt: this.lastCreatedAt, attrs: {}, alive: true };
    table.entities.set(id, record);
    const order = table.order;
    // Usually the last place; a transaction's entities share one millisecond and sort by id among themselves.
    const last = order[order.length - 1];
    if (last === undefined || compareOrderKeys(last, record) <= 0) order.push(record);
    else order.splice(upperBound(order, record), 0, record);
    this.created.add(`${ns}\u0000${id}`);
    this.log().push(() => {
      record.alive = false;
      table.entities.delete(id);
      const at = order.lastIndexOf(record);
      if (at >= 0) order.splice(at, 1);
    });
    this.touch(ns, id);
    this.changes.push({ ns, id, label: 'id', link: false });
    return record;
  }

  /** Writes one attribute: type check, unique check, index upkeep. */
  setAttr(entity: EntityRecord, attr: BlobAttr, value: unknown): void {
    if (value !== null && attr.checkedType && !valueHasType(attr.checkedType, value)) {
      throw validationFailedRaw(
        `Invalid value type for ${attr.ns}.${attr.label}. Value must be a ${attr.checkedType} but the provided value type is ${jsonType(value)}.`,
        {
          namespace: attr.ns,
          attribute: attr.label,
          value: value as never,
          'checked-data-type': attr.checkedType,
          'attr-id': attr.id,
          'entity-id': entity.id,
        },
      );
    }
    const had = Object.hasOwn(entity.attrs, attr.label);
    const old = entity.attrs[attr.label];
    if (had && old === value) return;
    if (hasIndex(attr)) {
      if (attr.unique && value !== null) {
        const owners = this.indexes.get(attr.id)?.get(valueKey(value));
        if (owners && owners.size && !owners.has(entity.id)) {
          throw recordNotUnique(attr.ns, attr.label, attr.id, value);
        }
      }
      if (had) this.unindex(attr, entity.id, old);
      this.index(attr, entity.id, value);
    }
    entity.attrs[attr.label] = value;
    this.log().push(() => {
      if (hasIndex(attr)) {
        this.unindex(attr, entity.id, value);
        if (had) this.index(attr, entity.id, old);
      }
      if (had) entity.attrs[attr.label] = old;
      else delete entity.attrs[attr.label];
    });
    this.touch(entity.ns, entity.id);
    this.changes.push({ ns: entity.ns, id: entity.id, label: attr.label, link: false });
  }

  /** Adds source→target; a has-one source drops its old target, a has-one target refuses a second source. */
  link(ref: RefAttr, source: string, target: string): void {
    const sets = this.linkSets(ref);
    const current = sets.fwd.get(source);
    if (current?.has(target)) return;
    if (ref.unique) {
      const owners = sets.rev.get(target);
      if (owners && owners.size) throw recordNotUnique(ref.ns, ref.label, ref.id, target);
    }
    if (ref.cardinality === 'one' && current) {
      for (const old of [...current]) this.unlink(ref, source, old);
    }
    addTo(sets.fwd, source, target);
    addTo(sets.rev, target, source);
    this.log().push(() => {
      removeFrom(sets.fwd, source, target);
      removeFrom(sets.rev, target, source);
    });
    this.recordLink(ref, source, target);
  }

  unlink(ref: RefAttr, source: string, target: string): void {
    const sets = this.linkSets(ref);
    if (!sets.fwd.get(source)?.has(target)) return;
    removeFrom(sets.fwd, source, target);
    removeFrom(sets.rev, target, source);
    this.log().push(() => {
      addTo(sets.fwd, source, target);
      addTo(sets.rev, target, source);
    });
    this.recordLink(ref, source, target);
  }

  /** Deletes the entity, its links in both directions, and what cascades from it. No-op when absent. */
  deleteEntity(ns: string, id: string): void {
    const table = this.tables.get(ns);
    const record = table?.entities.get(id);
    for (const ref of [...this.catalog.fwdRefsOf(ns)]) {
      for (const target of [...this.targets(ref, id)]) {
        this.unlink(ref, id, target);
        if (ref.cascadeFromSource) this.deleteEntity(ref.revNs, target);
      }
    }
    for (const ref of [...this.catalog.revRefsOf(ns)]) {
      for (const source of [...this.sources(ref, id)]) {
        this.unlink(ref, source, id);
        if (ref.cascadeFromTarget) this.deleteEntity(ref.ns, source);
      }
    }
    if (!table || !record) return;
    for (const [label, value] of Object.entries(record.attrs)) {
      const attr = this.catalog.blob(ns, label);
      if (attr && hasIndex(attr)) this.unindex(attr, id, value);
      this.changes.push({ ns, id, label, link: false });
    }
    record.alive = false;
    table.entities.delete(id);
    table.deadInOrder++;
    this.log().push(() => {
      record.alive = true;
      table.entities.set(id, record);
      table.deadInOrder--;
      for (const [label, value] of Object.entries(record.attrs)) {
        const attr = this.catalog.blob(ns, label);
        if (attr && hasIndex(attr)) this.index(attr, id, value);
      }
    });
    this.changes.push({ ns, id, label: 'id', link: false });
  }

  /**
   * The namespace's creation order with no deleted entities in it, so a page deep into it is an
   * index (offset paging over a million entities must not scan them). Null while a transaction
   * is open: its undo steps hold on to the current array.
   */
  compactOrder(ns: string): readonly EntityRecord[] | null {
    const table = this.tables.get(ns);
    if (!table) return [];
    if (table.deadInOrder > 0) {
      if (this.undo) return null;
      table.order = table.order.filter((e) => e.alive);
      table.deadInOrder = 0;
    }
    return table.order;
  }

  /**
   * Loads entities without a transaction (no undo, no changes, no checks): seeding a big app for
   * tests and benchmarks. `entities` must be new ids; they share one serverCreatedAt, later than
   * any stored so far, and so sort by id. Indexed values are indexed; the caller guarantees
   * unique values are unique.
   */
  bulkLoad(ns: string, entities: readonly { id: string; attrs: Record<string, unknown> }[]): void {
    if (this.undo) throw new Error('bulkLoad inside a sandbox transaction');
    const table = this.tableFor(ns);
    const at = Math.max(this.now(), this.lastCreatedAt + 1);
    this.lastCreatedAt = at;
    const indexed = [...this.catalog.blobsOf(ns)].filter(hasIndex);
    const sorted = [...entities].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const { id, attrs } of sorted) {
      if (table.entities.has(id)) throw new Error(`bulkLoad: ${ns} ${id} exists`);
      const record: EntityRecord = { id, ns, createdAt: at, attrs, alive: true };
      table.entities.set(id, record);
      table.order.push(record);
      for (const attr of indexed) if (Object.hasOwn(attrs, attr.label)) this.index(attr, id, attrs[attr.label]);
    }
  }

  /** Adds links without a transaction or any check (see bulkLoad). */
  bulkLink(ref: RefAttr, pairs: Iterable<readonly [source: string, target: string]>): void {
    if (this.undo) throw new Error('bulkLink inside a sandbox transaction');
    const sets = this.linkSets(ref);
    for (const [source, target] of pairs) {
      addTo(sets.fwd, source, target);
      addTo(sets.rev, target, source);
    }
  }

  // ---- internals ----

  private log(): (() => void)[] {
    if (!this.undo) throw new Error('no sandbox transaction is open');
    return this.undo;
  }

  private touch(ns: string, id: string): void {
    this.touched.set(`${ns}\u0000${id}`, { ns, id });
  }

  private recordLink(ref: RefAttr, source: string, target: string): void {
    this.touch(ref.ns, source);
    this.changes.push({ ns: ref.ns, id: source, label: ref.label, link: true });
    this.changes.push({ ns: ref.revNs, id: target, label: ref.revLabel, link: true });
  }

  private tableFor(ns: string): NamespaceTable {
    let table = this.tables.get(ns);
    if (!table) {
      table = new NamespaceTable();
      this.tables.set(ns, table);
    }
    return table;
  }

  private linkSets(ref: RefAttr): LinkSets {
    let sets = this.links.get(ref.id);
    if (!sets) {
      sets = { fwd: new Map(), rev: new Map() };
      this.links.set(ref.id, sets);
    }
    return sets;
  }

  /** Rebuilds `attr`'s value index from the stored values, after a schema job changed its flags. */
  rebuildIndex(attr: BlobAttr): void {
    this.indexes.delete(attr.id);
    if (!hasIndex(attr)) return;
    for (const entity of this.tables.get(attr.ns)?.entities.values() ?? [])
      if (entity.alive) this.index(attr, entity.id, entity.attrs[attr.label]);
  }

  private index(attr: BlobAttr, id: string, value: unknown): void {
    if (value === null || value === undefined) return;
    let byValue = this.indexes.get(attr.id);
    if (!byValue) {
      byValue = new Map();
      this.indexes.set(attr.id, byValue);
    }
    addTo(byValue, valueKey(value), id);
  }

  private unindex(attr: BlobAttr, id: string, value: unknown): void {
    if (value === null || value === undefined) return;
    const byValue = this.indexes.get(attr.id);
    if (byValue) removeFrom(byValue, valueKey(value), id);
  }
}

/** Unique and indexed attributes keep a value index (ids are found through the table itself). */
export function hasIndex(attr: BlobAttr): boolean {
  return (attr.unique || attr.indexed) && attr.label !== 'id';
}

export function valueHasType(type: string, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'date':
      return (
        (typeof value === 'number' && Number.isFinite(value)) ||
        (typeof value === 'string' && !Number.isNaN(Date.parse(value)))
      );
    default:
      return true;
  }
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean' ? t : 'object';
}

function addTo(map: Map<string, Set<string>>, key: string, member: string): void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(member);
}

function removeFrom(map: Map<string, Set<string>>, key: string, member: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(member);
  if (!set.size) map.delete(key);
}

/** The first index whose key sorts after `key` (binary search over the creation order). */
function upperBound(order: readonly OrderKey[], key: OrderKey): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareOrderKeys(order[mid]!, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
