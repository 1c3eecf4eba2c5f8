/**
 * From an app's attribute catalogue (`GET /superadmin/apps/:id/schema`: `{refs, blobs}`) to the
 * schema definition format a create or a schema push takes, and to the plan of what a copy reads.
 * The mapping is the server's own `schema->defs` (server/src/instant/model/schema.clj): a blob's
 * `checked-data-type` is its `valueType` (`any` when unchecked), `unique?`/`index?` its config,
 * `required?` its `required`; a ref's forward `has` is its cardinality, its reverse `has` is `one`
 * when it is unique, and `on-delete`/`on-delete-reverse` become `onDelete: 'cascade'`; a link is
 * named `<forward namespace><Label>`.
 *
 * System namespaces: `$users` is copied (its rows, their attributes and their links); every other
 * `$` namespace (`$files`, `$streams`, refresh tokens, magic codes, OAuth) is not, nor are links
 * into one. System attributes (`catalog: system`) stay out of the schema pushed to a copy: every
 * app has them already, and the server ignores them in a push.
 */
import type { AttrDef, CopyConfig, LinkDef, NamespacePlan, SchemaDefs } from './types.js';

/** The one system namespace whose rows a copy carries. */
export const COPIED_SYSTEM_NAMESPACE = '$users';

/** Whether a copy carries the entities of namespace `ns`. */
export function isCopiedNamespace(ns: string): boolean {
  return !ns.startsWith('$') || ns === COPIED_SYSTEM_NAMESPACE;
}

type Json = Record<string, unknown>;

interface RefAttr {
  ns: string;
  label: string;
  revNs: string;
  revLabel: string;
  cardinality: 'one' | 'many';
  unique: boolean;
  required: boolean;
  onDelete: boolean;
  onDeleteReverse: boolean;
  system: boolean;
}

/** The catalogue is not what the Platform API answers: names the part that is wrong. */
export class CatalogFormatError extends Error {}

/** The schema defs and copy plan of an app whose catalogue is `catalog`. */
export function configFromCatalog(
  catalog: unknown,
  rules: Record<string, unknown> | null,
  sourceAppId: string | null,
): CopyConfig {
  const { blobs, refs } = readCatalog(catalog);
  const schema: SchemaDefs = { entities: {}, links: {} };
  const namespaces = new Set<string>();
  for (const [ns, byLabel] of Object.entries(blobs)) {
    if (!isCopiedNamespace(ns)) continue;
    namespaces.add(ns);
    const attrs: Record<string, AttrDef> = {};
    for (const [label, raw] of Object.entries(byLabel)) {
      if (label === 'id' || raw['catalog'] === 'system') continue;
      const type = raw['checked-data-type'];
      attrs[label] = {
        valueType: typeof type === 'string' ? type : 'any',
        ...(raw['required?'] === true ? { required: true } : {}),
        config: { indexed: raw['index?'] === true, unique: raw['unique?'] === true },
      };
    }
    schema.entities[ns] = { attrs };
  }
  for (const ref of refs) {
    for (const ns of [ref.ns, ref.revNs]) {
      if (isCopiedNamespace(ns) && !namespaces.has(ns)) {
        namespaces.add(ns);
        schema.entities[ns] = { attrs: {} };
      }
    }
    if (ref.system || !isCopiedNamespace(ref.ns) || !isCopiedNamespace(ref.revNs)) continue;
    schema.links[linkName(schema.links, ref)] = linkDef(ref);
  }
  const plans = orderNamespaces([...namespaces]).map((name): NamespacePlan => ({ name, links: [], skippedLinks: [] }));
  const byName = new Map(plans.map((plan) => [plan.name, plan]));
  for (const ref of refs) {
    const plan = byName.get(ref.ns);
    if (!plan) continue;
    if (isCopiedNamespace(ref.revNs)) plan.links.push({ label: ref.label, target: ref.revNs, has: ref.cardinality });
    else plan.skippedLinks.push(ref.label);
  }
  for (const plan of plans) plan.links.sort((a, b) => (a.label < b.label ? -1 : 1));
  return { schema, rules, namespaces: plans, sourceAppId };
}

/** `$users` first (links point at it), then by name: the same order on every read. */
function orderNamespaces(names: string[]): string[] {
  return names.sort((a, b) =>
    a === COPIED_SYSTEM_NAMESPACE ? -1 : b === COPIED_SYSTEM_NAMESPACE ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
}

function linkName(existing: Record<string, LinkDef>, ref: RefAttr): string {
  const base = `${ref.ns}${ref.label.slice(0, 1).toUpperCase()}${ref.label.slice(1)}`;
  let name = base;
  for (let n = 2; name in existing; n++) name = `${base}${n}`;
  return name;
}

function linkDef(ref: RefAttr): LinkDef {
  return {
    forward: {
      on: ref.ns,
      label: ref.label,
      has: ref.cardinality,
      ...(ref.required ? { required: true } : {}),
      ...(ref.onDelete ? { onDelete: 'cascade' as const } : {}),
    },
    reverse: {
      on: ref.revNs,
      label: ref.revLabel,
      has: ref.unique ? 'one' : 'many',
      ...(ref.onDeleteReverse ? { onDelete: 'cascade' as const } : {}),
    },
  };
}

function readCatalog(catalog: unknown): { blobs: Record<string, Record<string, Json>>; refs: RefAttr[] } {
  const root = asObject(catalog, 'schema');
  const blobs: Record<string, Record<string, Json>> = {};
  for (const [ns, byLabel] of Object.entries(asObject(root['blobs'] ?? {}, 'schema.blobs'))) {
    const attrs: Record<string, Json> = {};
    for (const [label, attr] of Object.entries(asObject(byLabel, `schema.blobs.${ns}`)))
      attrs[label] = asObject(attr, `schema.blobs.${ns}.${label}`);
    blobs[ns] = attrs;
  }
  const refs: RefAttr[] = [];
  for (const [key, raw] of Object.entries(asObject(root['refs'] ?? {}, 'schema.refs'))) {
    const attr = asObject(raw, `schema.refs.${key}`);
    const [, ns, label] = identity(attr['forward-identity'], `schema.refs.${key}.forward-identity`);
    const [, revNs, revLabel] = identity(attr['reverse-identity'], `schema.refs.${key}.reverse-identity`);
    refs.push({
      ns,
      label,
      revNs,
      revLabel,
      cardinality: attr['cardinality'] === 'one' ? 'one' : 'many',
      unique: attr['unique?'] === true,
      required: attr['required?'] === true,
      onDelete: attr['on-delete'] === 'cascade',
      onDeleteReverse: attr['on-delete-reverse'] === 'cascade',
      system: attr['catalog'] === 'system',
    });
  }
  refs.sort((a, b) => (`${a.ns}.${a.label}` < `${b.ns}.${b.label}` ? -1 : 1));
  return { blobs, refs };
}

function identity(value: unknown, where: string): [string, string, string] {
  if (!Array.isArray(value) || value.length < 3 || typeof value[1] !== 'string' || typeof value[2] !== 'string')
    throw new CatalogFormatError(`${where} must be [id, namespace, label]`);
  return [String(value[0]), value[1], value[2]];
}

function asObject(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CatalogFormatError(`${where} must be an object`);
  return value as Json;
}

/**
 * What of `wanted` is missing or different in `actual` (both schema defs): one line per
 * attribute or link, empty when `actual` has all of it. Extra attributes in `actual` are fine.
 */
export function schemaDifferences(wanted: SchemaDefs, actual: SchemaDefs): string[] {
  const problems: string[] = [];
  for (const [ns, { attrs }] of Object.entries(wanted.entities)) {
    for (const [label, def] of Object.entries(attrs)) {
      const got = actual.entities[ns]?.attrs[label];
      if (!got) problems.push(`attribute ${ns}.${label} is missing`);
      else if (JSON.stringify(normalAttr(got)) !== JSON.stringify(normalAttr(def)))
        problems.push(`attribute ${ns}.${label} differs`);
    }
  }
  const actualLinks = new Map(Object.values(actual.links).map((link) => [linkKey(link), link]));
  for (const link of Object.values(wanted.links)) {
    const got = actualLinks.get(linkKey(link));
    if (!got) problems.push(`link ${link.forward.on}.${link.forward.label} is missing`);
    else if (JSON.stringify(normalLink(got)) !== JSON.stringify(normalLink(link)))
      problems.push(`link ${link.forward.on}.${link.forward.label} differs`);
  }
  return problems;
}

function normalAttr(def: AttrDef) {
  return [def.valueType, def.required === true, def.config.indexed, def.config.unique];
}

function linkKey(link: LinkDef): string {
  return JSON.stringify([link.forward.on, link.forward.label, link.reverse.on, link.reverse.label]);
}

function normalLink(link: LinkDef) {
  return [
    link.forward.has,
    link.reverse.has,
    link.forward.required === true,
    link.forward.onDelete ?? null,
    link.reverse.onDelete ?? null,
  ];
}
