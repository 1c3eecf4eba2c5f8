/**
 * An app's attribute catalogue: what InstantDB calls `attrs`. Built from the JSON that
 * `JSON.stringify(i.schema({...}))` produces (the Platform API's create body), or grown on the
 * fly for schemaless apps (protocol doc §5.7), and printed back as the `{refs, blobs}` form.
 */
import type { Json } from './errors.js';

/** Value types whose values the server type-checks; `json`/`any` are unchecked (null). */
export type CheckedType = 'string' | 'number' | 'boolean' | 'date';

/** A plain attribute (`tasks.title`), including each namespace's `id` attribute. */
export interface BlobAttr {
  readonly kind: 'blob';
  readonly id: string;
  readonly identId: string;
  readonly ns: string;
  readonly label: string;
  readonly unique: boolean;
  readonly indexed: boolean;
  readonly required: boolean;
  readonly checkedType: CheckedType | null;
}

/** A link attribute, stored once on its forward side (`tasks.mainDatabase` ⇄ `databases.task`). */
export interface RefAttr {
  readonly kind: 'ref';
  readonly id: string;
  readonly identId: string;
  readonly revIdentId: string;
  readonly ns: string;
  readonly label: string;
  readonly revNs: string;
  readonly revLabel: string;
  /** `one` when the forward side is `has: 'one'`: a new link replaces the old one. */
  readonly cardinality: 'one' | 'many';
  /** True when the reverse side is `has: 'one'`: a target can have only one source. */
  readonly unique: boolean;
  readonly required: boolean;
  /** Deleting the target deletes the sources (`forward.onDelete: 'cascade'`). */
  readonly cascadeFromTarget: boolean;
  /** Deleting the source deletes the targets (`reverse.onDelete: 'cascade'`). */
  readonly cascadeFromSource: boolean;
}

const CHECKED: ReadonlySet<string> = new Set(['string', 'number', 'boolean', 'date']);

/** The catalogue of one app. Mutations return an undo function so a failed transaction can drop attrs it added. */
export class AttrCatalog {
  private readonly blobs = new Map<string, Map<string, BlobAttr>>();
  private readonly fwdRefs = new Map<string, Map<string, RefAttr>>();
  private readonly revRefs = new Map<string, Map<string, RefAttr>>();
  private readonly ids = new Map<string, BlobAttr | RefAttr>();
  /** Bumped on every change, so compiled queries know when to recompile. */
  version = 0;

  constructor(private readonly newId: () => string) {}

  /** True once the namespace has its `id` attribute. */
  hasNamespace(ns: string): boolean {
    return this.blobs.get(ns)?.has('id') ?? false;
  }

  blob(ns: string, label: string): BlobAttr | undefined {
    return this.blobs.get(ns)?.get(label);
  }

  fwdRef(ns: string, label: string): RefAttr | undefined {
    return this.fwdRefs.get(ns)?.get(label);
  }

  revRef(ns: string, label: string): RefAttr | undefined {
    return this.revRefs.get(ns)?.get(label);
  }

  /** The attribute with this id (what the client protocol's tx-steps name). */
  byId(id: string): BlobAttr | RefAttr | undefined {
    return this.ids.get(id);
  }

  /** Every attribute, plain ones first. */
  *all(): Iterable<BlobAttr | RefAttr> {
    for (const byLabel of this.blobs.values()) yield* byLabel.values();
    for (const byLabel of this.fwdRefs.values()) yield* byLabel.values();
  }

  blobsOf(ns: string): Iterable<BlobAttr> {
    return this.blobs.get(ns)?.values() ?? [];
  }

  fwdRefsOf(ns: string): Iterable<RefAttr> {
    return this.fwdRefs.get(ns)?.values() ?? [];
  }

  revRefsOf(ns: string): Iterable<RefAttr> {
    return this.revRefs.get(ns)?.values() ?? [];
  }

  /** Adds a plain attribute (with the given ids, as a client's `add-attr` names them, or fresh ones); returns the undo. */
  addBlob(spec: Omit<BlobAttr, 'kind' | 'id' | 'identId'> & Partial<Pick<BlobAttr, 'id' | 'identId'>>): () => void {
    const attr: BlobAttr = {
      kind: 'blob',
      ...spec,
      id: spec.id ?? this.newId(),
      identId: spec.identId ?? this.newId(),
    };
    const byLabel = getOrCreate(this.blobs, spec.ns);
    byLabel.set(spec.label, attr);
    this.ids.set(attr.id, attr);
    this.version++;
    return () => {
      byLabel.delete(spec.label);
      this.ids.delete(attr.id);
      this.version++;
    };
  }

  /** Replaces a plain attribute's flags (a finished schema job); same id, so stored values still belong to it. */
  replaceBlob(attr: BlobAttr): void {
    getOrCreate(this.blobs, attr.ns).set(attr.label, attr);
    this.ids.set(attr.id, attr);
    this.version++;
  }

  /** Adds a link attribute (with the given ids, or fresh ones); returns the undo. */
  addRef(
    spec: Omit<RefAttr, 'kind' | 'id' | 'identId' | 'revIdentId'> &
      Partial<Pick<RefAttr, 'id' | 'identId' | 'revIdentId'>>,
  ): () => void {
    const attr: RefAttr = {
      kind: 'ref',
      ...spec,
      id: spec.id ?? this.newId(),
      identId: spec.identId ?? this.newId(),
      revIdentId: spec.revIdentId ?? this.newId(),
    };
    const fwd = getOrCreate(this.fwdRefs, spec.ns);
    const rev = getOrCreate(this.revRefs, spec.revNs);
    fwd.set(spec.label, attr);
    rev.set(spec.revLabel, attr);
    this.ids.set(attr.id, attr);
    this.version++;
    return () => {
      fwd.delete(spec.label);
      rev.delete(spec.revLabel);
      this.ids.delete(attr.id);
      this.version++;
    };
  }

  /** Adds `ns.id` if missing (every namespace that holds data has one). */
  ensureNamespace(ns: string): () => void {
    if (this.hasNamespace(ns)) return () => {};
    return this.addBlob({ ns, label: 'id', unique: true, indexed: false, required: false, checkedType: null });
  }

  /** The catalogue in the Platform API's `{refs, blobs}` form (what `PlatformApi` parses). */
  toApiSchema(): { refs: Record<string, Json>; blobs: Record<string, Json> } {
    const blobs: Record<string, Json> = {};
    for (const [ns, byLabel] of this.blobs) {
      const out: Record<string, Json> = {};
      for (const a of byLabel.values()) out[a.label] = blobAttrJson(a);
      blobs[ns] = out;
    }
    const refs: Record<string, Json> = {};
    for (const byLabel of this.fwdRefs.values()) {
      for (const r of byLabel.values()) {
        const key = `[${[r.ns, r.label, r.revNs, r.revLabel].map((s) => JSON.stringify(s)).join(' ')}]`;
        refs[key] = refAttrJson(r);
      }
    }
    return { refs, blobs };
  }
}

/** A plain attribute as the server prints it (attr.clj: Platform API schemas and the client's `attrs`). */
export function blobAttrJson(a: BlobAttr): Record<string, Json> {
  return {
    id: a.id,
    'forward-identity': [a.identId, a.ns, a.label],
    'value-type': 'blob',
    cardinality: 'one',
    'unique?': a.unique,
    'index?': a.indexed,
    'required?': a.required,
    'checked-data-type': a.checkedType,
    catalog: 'user',
    'inferred-types': null,
  };
}

/** A link attribute as the server prints it. */
export function refAttrJson(r: RefAttr): Record<string, Json> {
  const ref: Record<string, Json> = {
    id: r.id,
    'forward-identity': [r.identId, r.ns, r.label],
    'reverse-identity': [r.revIdentId, r.revNs, r.revLabel],
    'value-type': 'ref',
    cardinality: r.cardinality,
    'unique?': r.unique,
    'index?': false,
    'required?': r.required,
    catalog: 'user',
  };
  if (r.cascadeFromTarget) ref['on-delete'] = 'cascade';
  if (r.cascadeFromSource) ref['on-delete-reverse'] = 'cascade';
  return ref;
}

/**
 * Builds a catalogue from a schema: the `i.schema(...)` object, its JSON, or that JSON as a string. Reads what the
 * real server reads (§9.2): `entities.<ns>.attrs.<label>.{valueType, required, config}` and
 * `links.<name>.{forward, reverse}.{on, label, has, required, onDelete}`; ignores the rest.
 */
export function catalogFromSchema(schema: unknown, newId: () => string): AttrCatalog {
  const catalog = new AttrCatalog(newId);
  addSchemaTo(catalog, schema);
  return catalog;
}

/** Adds a schema's attributes to `catalog` (throws TypeError on a schema it cannot read, possibly half way). */
export function addSchemaTo(catalog: AttrCatalog, schema: unknown): void {
  if (schema === undefined || schema === null) return;
  const text = typeof schema === 'string' ? schema : JSON.stringify(schema);
  const json = asRecord(JSON.parse(text), 'schema');
  const entities = asRecord(json['entities'] ?? {}, 'schema.entities');
  for (const [ns, def] of Object.entries(entities)) {
    catalog.ensureNamespace(ns);
    const attrs = asRecord(asRecord(def, `schema.entities.${ns}`)['attrs'] ?? {}, `schema.entities.${ns}.attrs`);
    for (const [label, attrDef] of Object.entries(attrs)) {
      if (label === 'id') continue;
      const a = asRecord(attrDef, `schema.entities.${ns}.attrs.${label}`);
      const config = asRecord(a['config'] ?? {}, `schema.entities.${ns}.attrs.${label}.config`);
      const valueType = typeof a['valueType'] === 'string' ? a['valueType'] : 'any';
      catalog.addBlob({
        ns,
        label,
        unique: config['unique'] === true,
        indexed: config['indexed'] === true || a['isIndexed'] === true,
        required: a['required'] === true,
        checkedType: CHECKED.has(valueType) ? (valueType as CheckedType) : null,
      });
    }
  }
  const links = asRecord(json['links'] ?? {}, 'schema.links');
  for (const [name, linkDef] of Object.entries(links)) {
    const link = asRecord(linkDef, `schema.links.${name}`);
    const fwd = asRecord(link['forward'], `schema.links.${name}.forward`);
    const rev = asRecord(link['reverse'], `schema.links.${name}.reverse`);
    const ns = String(fwd['on']);
    const revNs = String(rev['on']);
    catalog.ensureNamespace(ns);
    catalog.ensureNamespace(revNs);
    catalog.addRef({
      ns,
      label: String(fwd['label']),
      revNs,
      revLabel: String(rev['label']),
      cardinality: fwd['has'] === 'one' ? 'one' : 'many',
      unique: rev['has'] === 'one',
      required: fwd['required'] === true,
      cascadeFromTarget: fwd['onDelete'] === 'cascade',
      cascadeFromSource: rev['onDelete'] === 'cascade',
    });
  }
}

function asRecord(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${where} must be an object`);
  }
  return value as Record<string, unknown>;
}

function getOrCreate<K, V>(map: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let inner = map.get(key);
  if (!inner) {
    inner = new Map();
    map.set(key, inner);
  }
  return inner;
}
