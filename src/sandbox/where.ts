/**
 * InstaQL `where` clauses (protocol doc §7.1): compiled once against the catalogue into a tree
 * of path conditions, then evaluated per entity. A path is zero or more link hops and a final
 * segment (`id`, an attribute, or a link label). Semantics follow the server's expansion:
 * `$isNull: true` matches when any step of the path is missing, `$not`/`$ne` also match missing.
 */
import { validationFailed, type Json } from './errors.js';
import type { AttrCatalog, BlobAttr, RefAttr } from './schema.js';
import type { EntityStore } from './store.js';

/** One link step of a path: from the current namespace to `ns`. */
export interface Hop {
  readonly ref: RefAttr;
  readonly forward: boolean;
  readonly ns: string;
}

type Last = { kind: 'id' } | { kind: 'attr'; attr: BlobAttr } | { kind: 'link'; ref: RefAttr; forward: boolean };

type Op =
  | { k: 'eq'; v: unknown }
  | { k: 'in'; vs: unknown[] }
  | { k: 'not'; v: unknown }
  | { k: 'isNull'; v: boolean }
  | { k: 'cmp'; op: '$gt' | '$gte' | '$lt' | '$lte'; v: unknown }
  | { k: 'like'; re: RegExp };

/** A compiled condition. */
export type Cond = { t: 'and'; items: Cond[] } | { t: 'or'; items: Cond[] } | PathCond;

/** A condition on one path; `test` is applied to each final value (MISSING for a break). */
export interface PathCond {
  readonly t: 'path';
  readonly hops: Hop[];
  readonly last: Last;
  readonly op: Op;
  readonly date: boolean;
  readonly test: (v: unknown) => boolean;
}

/** Thrown while compiling when a path names something the app does not have: the namespace yields []. */
export class UnresolvablePath extends Error {}

const MISSING = Symbol('missing');
type Value = unknown;

/** Compiles the `where` map of a node in namespace `ns`. */
export function compileWhere(catalog: AttrCatalog, ns: string, where: Record<string, unknown>, root: Json): Cond {
  const items: Cond[] = [];
  for (const [key, value] of Object.entries(where)) {
    if (key === 'and' || key === 'or') {
      if (!Array.isArray(value) || value.length === 0) {
        throw validationFailed('query', root, [
          { expected: 'non-empty-list?', message: `The list of \`${key}\` conditions can't be empty.` },
        ]);
      }
      items.push({ t: key, items: value.map((w) => compileWhere(catalog, ns, asWhereMap(w, root), root)) });
    } else {
      items.push(compilePath(catalog, ns, key, value, root));
    }
  }
  return items.length === 1 ? items[0]! : { t: 'and', items };
}

function compilePath(catalog: AttrCatalog, ns: string, key: string, value: unknown, root: Json): Cond {
  const segments = key.split('.');
  const hops: Hop[] = [];
  let current = ns;
  for (const segment of segments.slice(0, -1)) {
    const hop = linkHop(catalog, current, segment);
    if (!hop) throw new UnresolvablePath(key);
    hops.push(hop);
    current = hop.ns;
  }
  const lastLabel = segments[segments.length - 1]!;
  let last: Last;
  const attr = catalog.blob(current, lastLabel);
  if (lastLabel === 'id') last = { kind: 'id' };
  else if (attr) last = { kind: 'attr', attr };
  else {
    const hop = linkHop(catalog, current, lastLabel);
    if (!hop) throw new UnresolvablePath(key);
    last = { kind: 'link', ref: hop.ref, forward: hop.forward };
  }
  const date = last.kind === 'attr' && last.attr.checkedType === 'date';
  const ops = compileOps(value, root, last.kind !== 'attr');
  const conds: Cond[] = ops.map((op) => ({ t: 'path', hops, last, op, date, test: tester(op, date) }));
  return conds.length === 1 ? conds[0]! : { t: 'and', items: conds };
}

function compileOps(value: unknown, root: Json, idValued: boolean): Op[] {
  // Entity ids are stored lower-case; ids in a where clause may not be.
  const normalizeId = (v: unknown) => (idValued && typeof v === 'string' ? v.toLowerCase() : v);
  if (!isOperatorMap(value)) return [{ k: 'eq', v: normalizeId(value) }];
  return Object.entries(value).map(([op, v]): Op => {
    switch (op) {
      case '$in':
      case 'in':
        if (!Array.isArray(v))
          throw validationFailed('query', root, [{ expected: 'array?', message: `\`${op}\` expects an array.` }]);
        return { k: 'in', vs: v.map(normalizeId) };
      case '$not':
      case '$ne':
        return { k: 'not', v: normalizeId(v) };
      case '$isNull':
        return { k: 'isNull', v: v === true };
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        return { k: 'cmp', op, v };
      case '$like':
      case '$ilike':
        return { k: 'like', re: likePattern(String(v), op === '$ilike') };
      default:
        throw validationFailed('query', root, [
          { expected: 'supported-operator?', message: `The where operator \`${op}\` is not supported.` },
        ]);
    }
  });
}

/** A condition bound to a store's current maps: true when the entity with this id satisfies it. */
export type Matcher = (id: string) => boolean;

/**
 * What an impersonated reader may see (permission rules): an entity (its `view` rule) and one
 * attribute or forward link label of it (its `fields` rule). Absent for admin reads.
 */
export interface Visibility {
  entity(ns: string, id: string): boolean;
  field(ns: string, id: string, label: string): boolean;
  /**
   * A condition every entity of `ns` the reader may see satisfies (the rule-wheres of
   * rules/rule-wheres.ts), to narrow candidates before `entity` is asked; null when the reader
   * can see none; undefined when there is none.
   */
  prefilter?(ns: string): Cond | null | undefined;
}

/**
 * Binds `cond` (compiled for namespace `ns`) to the store's link and entity maps, so checking
 * an entity is a few map lookups. Valid until the next write; prepare one per query run.
 */
export function prepareMatcher(store: EntityStore, ns: string, cond: Cond, seen?: Visibility): Matcher {
  switch (cond.t) {
    case 'and': {
      const all = cond.items.map((c) => prepareMatcher(store, ns, c, seen));
      return (id) => {
        for (const m of all) if (!m(id)) return false;
        return true;
      };
    }
    case 'or': {
      const any = cond.items.map((c) => prepareMatcher(store, ns, c, seen));
      return (id) => {
        for (const m of any) if (m(id)) return true;
        return false;
      };
    }
    case 'path':
      return preparePath(store, ns, cond, seen);
  }
}

/**
 * Visits every final value reachable along the path; MISSING stands for a break anywhere along it.
 * With `seen`, a value or link the reader may not see fails that branch outright (it is neither a
 * match nor MISSING), so a `where` can never probe a hidden field or entity.
 */
function preparePath(store: EntityStore, ns: string, cond: PathCond, seen?: Visibility): Matcher {
  const { test, last } = cond;
  const lastNs = cond.hops.length ? cond.hops[cond.hops.length - 1]!.ns : ns;
  const visible = (triNs: string, id: string, label: string) =>
    !seen || (seen.entity(triNs, id) && seen.field(triNs, id, label));
  const followAll = (
    links: ReadonlyMap<string, ReadonlySet<string>>,
    step: { ref: RefAttr; forward: boolean },
    next: (id: string) => boolean,
  ): Matcher => {
    return (id) => {
      const linked = links.get(id);
      if (!linked || !linked.size) return test(MISSING);
      for (const other of linked) {
        // The link triple lives on its forward side's entity.
        if (!visible(step.ref.ns, step.forward ? id : other, step.ref.label)) continue;
        if (next(other)) return true;
      }
      return false;
    };
  };
  let visit: Matcher;
  if (last.kind === 'link') {
    visit = followAll(store.linkMap(last.ref, last.forward), last, test);
  } else {
    const entities = store.table(lastNs)?.entities ?? new Map<string, never>();
    if (last.kind === 'id') {
      visit = (id) => (entities.has(id) ? visible(lastNs, id, 'id') && test(id) : test(MISSING));
    } else {
      const label = last.attr.label;
      visit = (id) => {
        const v = entities.get(id)?.attrs[label];
        if (v === undefined || v === null) return test(MISSING);
        return visible(lastNs, id, label) && test(v);
      };
    }
  }
  for (let i = cond.hops.length - 1; i >= 0; i--) {
    const hop = cond.hops[i]!;
    visit = followAll(store.linkMap(hop.ref, hop.forward), hop, visit);
  }
  return visit;
}

function tester(op: Op, date: boolean): (v: Value) => boolean {
  const eq = (a: Value, b: unknown) => valuesEqual(a, b, date);
  switch (op.k) {
    case 'eq':
      return (v) => v !== MISSING && eq(v, op.v);
    case 'in':
      return (v) => v !== MISSING && op.vs.some((x) => eq(v, x));
    case 'not':
      return (v) => v === MISSING || !eq(v, op.v);
    case 'isNull':
      return op.v ? (v) => v === MISSING : (v) => v !== MISSING;
    case 'cmp':
      return (v) => {
        if (v === MISSING) return false;
        const [a, b] = date ? [toMs(v), toMs(op.v)] : [v, op.v];
        if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) return false;
        const x = a as number | string;
        const y = b as number | string;
        return op.op === '$gt' ? x > y : op.op === '$gte' ? x >= y : op.op === '$lt' ? x < y : x <= y;
      };
    case 'like':
      return (v) => typeof v === 'string' && op.re.test(v);
  }
}

/** Equality as the server compares JSON values; dates compare as instants. */
export function valuesEqual(a: unknown, b: unknown, date: boolean): boolean {
  if (date) return toMs(a) === toMs(b);
  if (a === b) return true;
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null)
    return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

/** A date value (ms number or date string) as ms; NaN when it is neither. */
export function toMs(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Date.parse(v);
  return Number.NaN;
}

/** Every path of a condition tree (for dependency tracking and change-driven re-checks). */
export function pathsOf(cond: Cond | undefined): PathCond[] {
  if (!cond) return [];
  return cond.t === 'path' ? [cond] : cond.items.flatMap(pathsOf);
}

/**
 * Ids of root entities whose match might have changed because `ns/id` changed: the entity
 * itself when `ns` is the root namespace, else the entities that reach it through a path's hops.
 */
export function rootsReaching(
  store: EntityStore,
  rootNs: string,
  paths: ReturnType<typeof pathsOf>,
  ns: string,
  id: string,
  out: Set<string>,
): void {
  if (ns === rootNs) out.add(id);
  for (const path of paths) {
    for (let k = 1; k <= path.hops.length; k++) {
      if (path.hops[k - 1]!.ns !== ns) continue;
      let frontier: Iterable<string> = [id];
      for (let j = k - 1; j >= 0; j--) {
        const h = path.hops[j]!;
        const prev = new Set<string>();
        for (const x of frontier)
          for (const p of h.forward ? store.sources(h.ref, x) : store.targets(h.ref, x)) prev.add(p);
        frontier = prev;
      }
      for (const r of frontier) out.add(r);
    }
  }
}

/** The link step from `ns` via `label`, either direction. */
export function linkHop(catalog: AttrCatalog, ns: string, label: string): Hop | undefined {
  const fwd = catalog.fwdRef(ns, label);
  if (fwd) return { ref: fwd, forward: true, ns: fwd.revNs };
  const rev = catalog.revRef(ns, label);
  if (rev) return { ref: rev, forward: false, ns: rev.ns };
  return undefined;
}

function isOperatorMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$') || k === 'in');
}

function asWhereMap(value: unknown, root: Json): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw validationFailed('query', root, [{ expected: 'map?' }]);
  }
  return value as Record<string, unknown>;
}

function likePattern(pattern: string, insensitive: boolean): RegExp {
  const body = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/%/g, '.*')
    .replace(/_/g, '.');
  return new RegExp(`^${body}$`, insensitive ? 'is' : 's');
}
