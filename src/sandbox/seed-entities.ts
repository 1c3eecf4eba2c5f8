/**
 * Seeds an app with many entities at once, for tests and benchmarks that need a big app (a copy
 * of 1,000,000 entities): written straight into the store, without transactions, live-query
 * notifications or checks, so a million entities take seconds. The app's schema says what each
 * entity holds: every attribute of its namespace gets a value of its type, derived from the
 * entity's position (`title-17`, 17, true, a date), so unique attributes stay unique.
 *
 * Spec: `{"entities": {"posts": 1000, "comments": 3000}, "links": {"comments.post": 1}}`: the
 * number of entities per namespace, and per forward link `ns.label` how many targets each source
 * gets (at most one for a has-one link; a target of a link whose reverse is has-one gets at most
 * one source, so its sources beyond the targets' number stay unlinked).
 */
import { validationFailedRaw } from './errors.js';
import type { AttrCatalog, BlobAttr } from './schema.js';
import type { EntityStore } from './store.js';

/** What to seed. */
export interface SeedSpec {
  /** Entities to add per namespace. */
  entities: Record<string, number>;
  /** Per forward link `namespace.label`: targets per source entity. */
  links?: Record<string, number>;
}

/** What was seeded. */
export interface SeedResult {
  entities: Record<string, number>;
  links: Record<string, number>;
}

/** The most entities one seed may add (a guard against a typo taking the sandbox's memory). */
const MAX_ENTITIES = 5_000_000;
const DATE_BASE = Date.UTC(2026, 0, 1);

/** Adds the entities and links of `spec` to an app; throws a 400 validation-failed on a bad spec. */
export function seedEntities(
  app: { catalog: AttrCatalog; store: EntityStore },
  spec: SeedSpec,
  newId: () => string,
): SeedResult {
  const { catalog, store } = app;
  const plan = checkSpec(catalog, spec);
  const ids = new Map<string, string[]>();
  const result: SeedResult = { entities: {}, links: {} };
  for (const [ns, count] of Object.entries(spec.entities)) {
    const blobs = [...catalog.blobsOf(ns)].filter((attr) => attr.label !== 'id');
    const made: { id: string; attrs: Record<string, unknown> }[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const attrs: Record<string, unknown> = {};
      for (const attr of blobs) attrs[attr.label] = valueFor(attr, i);
      made[i] = { id: newId(), attrs };
    }
    store.bulkLoad(ns, made);
    ids.set(
      ns,
      made.map((entity) => entity.id),
    );
    result.entities[ns] = count;
  }
  for (const { key, ref, perSource } of plan) {
    const sources = ids.get(ref.ns) ?? [];
    const targets = ids.get(ref.revNs) ?? [];
    const pairs: [string, string][] = [];
    if (targets.length > 0) {
      for (let s = 0; s < sources.length; s++) {
        for (let j = 0; j < perSource; j++) {
          const t = s * perSource + j;
          // A has-one reverse side: each target keeps a single source.
          if (ref.unique && t >= targets.length) break;
          pairs.push([sources[s]!, targets[t % targets.length]!]);
        }
      }
    }
    store.bulkLink(ref, pairs);
    result.links[key] = pairs.length;
  }
  return result;
}

function checkSpec(catalog: AttrCatalog, spec: SeedSpec) {
  const bad = (message: string) => validationFailedRaw(`seed-entities: ${message}`, {});
  if (typeof spec !== 'object' || spec === null || typeof spec.entities !== 'object' || spec.entities === null)
    throw bad('the body must be {"entities": {"<namespace>": <count>}, "links"?: {"<namespace>.<label>": <n>}}');
  let total = 0;
  for (const [ns, count] of Object.entries(spec.entities)) {
    if (!catalog.hasNamespace(ns)) throw bad(`the app's schema has no namespace ${ns}`);
    if (!Number.isInteger(count) || count < 0) throw bad(`entities.${ns} must be a whole number ≥ 0`);
    total += count;
  }
  if (total > MAX_ENTITIES) throw bad(`at most ${MAX_ENTITIES} entities per seed`);
  return Object.entries(spec.links ?? {}).map(([key, perSource]) => {
    const [ns = '', label = ''] = key.split('.');
    const ref = catalog.fwdRef(ns, label);
    if (!ref) throw bad(`links: the app's schema has no forward link ${key}`);
    if (!Number.isInteger(perSource) || perSource < 1) throw bad(`links.${key} must be a whole number ≥ 1`);
    if (ref.cardinality === 'one' && perSource > 1) throw bad(`links.${key} is has-one: at most 1 target`);
    if (!(ns in spec.entities) || !(ref.revNs in spec.entities))
      throw bad(`links.${key} needs both ${ns} and ${ref.revNs} in entities`);
    return { key, ref, perSource };
  });
}

function valueFor(attr: BlobAttr, i: number): unknown {
  switch (attr.checkedType) {
    case 'number':
      return i;
    case 'boolean':
      return i % 2 === 0;
    case 'date':
      return DATE_BASE + i;
    case 'string':
      return `${attr.label}-${i}`;
    default:
      return { n: i, label: attr.label };
  }
}
