/**
 * What a rule sees of an app's store: entities as `data` maps, and `data.ref(path)` /
 * `auth.ref('$user.path')` walked through links (cel.clj › DataCelMap, AuthCelMap, get-ref).
 * Refs read the store as it is at that moment, without permissions, like the server's.
 */
import type { AttrCatalog } from '../schema.js';
import type { EntityStore } from '../store.js';
import { linkHop } from '../where.js';
import { toRuleValue, type RefResolver, type RuleValue } from './program.js';

/** The parts of an app a rule reads. */
export interface RuleDataSource {
  readonly catalog: AttrCatalog;
  readonly store: EntityStore;
}

/** Builds entity maps for rules and resolves their `ref` calls. */
export class RuleData {
  /** Which entity a map handed to CEL stands for, so `ref` knows where to start. */
  private readonly origins = new WeakMap<object, { ns: string; id: string | null }>();

  constructor(private readonly app: RuleDataSource) {}

  /** The entity as `{id, ...attributes}`, or null when it does not exist. */
  entity(ns: string, id: string): Record<string, unknown> | null {
    const e = this.app.store.entity(ns, id);
    return e ? { id, ...e.attrs } : null;
  }

  /** A CEL map for an entity of `ns` (`fields` may be a state that is not stored, e.g. newData). */
  map(ns: string, fields: Record<string, unknown> | null): RuleValue {
    const value = toRuleValue(fields ?? {}) as Map<string, unknown>;
    const id = fields?.['id'];
    this.origins.set(value, { ns, id: typeof id === 'string' ? id : null });
    return value;
  }

  /** The `auth` map: the signed-in user (a `$users` entity), or an empty map for a guest. */
  auth(user: { id: string; email: string | null } | null): RuleValue {
    return this.map(
      '$users',
      user ? { ...(this.entity('$users', user.id) ?? {}), id: user.id, email: user.email } : null,
    );
  }

  /** The `ref` function for this data. */
  readonly refs: RefResolver = (map, path) => {
    const origin = this.origins.get(map);
    if (!origin || origin.id === null) return [];
    const walk = origin.ns === '$users' ? path.replace(/^\$user\./, '') : path;
    return this.values(origin.ns, origin.id, walk.split('.'));
  };

  /** Distinct values at the end of `segments` from `ns/id`: link hops, then an attribute, `id` or a link. */
  private values(ns: string, id: string, segments: string[]): unknown[] {
    const { catalog, store } = this.app;
    let frontier = [{ ns, id }];
    for (const segment of segments.slice(0, -1)) {
      const next: { ns: string; id: string }[] = [];
      for (const at of frontier) {
        const hop = linkHop(catalog, at.ns, segment);
        if (!hop) return [];
        const ids = hop.forward ? store.targets(hop.ref, at.id) : store.sources(hop.ref, at.id);
        for (const other of ids) next.push({ ns: hop.ns, id: other });
      }
      frontier = next;
    }
    const last = segments[segments.length - 1]!;
    const out = new Set<unknown>();
    for (const at of frontier) {
      const hop = catalog.blob(at.ns, last) || last === 'id' ? undefined : linkHop(catalog, at.ns, last);
      if (hop) {
        for (const other of hop.forward ? store.targets(hop.ref, at.id) : store.sources(hop.ref, at.id)) out.add(other);
      } else if (last === 'id') {
        if (store.entity(at.ns, at.id)) out.add(at.id);
      } else {
        const value = store.entity(at.ns, at.id)?.attrs[last];
        if (value !== undefined && value !== null) out.add(value);
      }
    }
    return [...out].map(toRuleValue);
  }
}
