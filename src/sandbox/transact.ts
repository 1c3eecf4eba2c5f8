/**
 * Applies `/admin/transact` steps (the SDK's raw op arrays, protocol doc §5) to one app,
 * all-or-nothing. Order of work mirrors the real server: shape checks, missing-attribute
 * handling (§5.7), the steps in order (§5.3–5.5), then the required-attribute check.
 */
import { validationFailed, validationFailedRaw, type Json } from './errors.js';
import type { AttrCatalog, BlobAttr, RefAttr } from './schema.js';
import type { Change, EntityStore } from './store.js';
import { normalizeUuid } from './uuid.js';

/** What a transaction needs of an app. */
export interface TransactTarget {
  readonly catalog: AttrCatalog;
  readonly store: EntityStore;
}

export type Action = 'create' | 'update' | 'merge' | 'link' | 'unlink' | 'delete' | 'ruleParams';
const ACTIONS: ReadonlySet<string> = new Set(['create', 'update', 'merge', 'link', 'unlink', 'delete', 'ruleParams']);
const OBJ_ACTIONS: ReadonlySet<string> = new Set(['create', 'update', 'merge', 'link', 'unlink']);

/** Where a step points: an entity id, or a lookup by a unique attribute. */
export type Slot = { kind: 'id'; id: string } | { kind: 'lookup'; label: string; value: unknown };

/** One parsed step of a transaction. */
export interface Step {
  readonly action: Action;
  readonly ns: string;
  readonly slot: Slot;
  readonly args: Record<string, unknown>;
  readonly upsert: boolean | undefined;
}

/**
 * Permission checks around a transaction (permissioned_transaction.clj): `before` sees the store
 * as it was, `after` sees it with every step applied; either throws to refuse the whole request.
 */
export interface TransactGuard {
  before(steps: readonly Step[]): void;
  /** `addedAttrs`: the `ns.label` attributes this transaction created on the fly (§5.7). */
  after(steps: readonly Step[], addedAttrs: readonly string[]): void;
}

/**
 * Runs `rawSteps` against `app` in one transaction and returns the Changes it made.
 * Throws a SandboxHttpError (and leaves the app untouched) on any failure. Without a guard
 * (admin requests) no permission rule runs. `addAttrs` runs first inside the transaction (a
 * client's `add-attr` steps) and returns the `ns.label` names of the attributes it added.
 */
export function applyTransaction(
  app: TransactTarget,
  rawSteps: unknown[],
  throwOnMissingAttrs: boolean,
  newId: () => string,
  guard?: TransactGuard,
  addAttrs?: () => string[],
): Change[] {
  const steps = parseSteps(rawSteps);
  const { store } = app;
  store.begin();
  try {
    const declared = addAttrs?.() ?? [];
    const addedAttrs = [...declared, ...addMissingAttrs(app, steps, rawSteps, throwOnMissingAttrs)];
    guard?.before(steps);
    const lookupCreated = new Set<string>();
    for (const step of steps) applyStep(app, step, lookupCreated, newId);
    checkRequired(app);
    guard?.after(steps, addedAttrs);
    return store.commit();
  } catch (error) {
    store.rollback();
    throw error;
  }
}

function parseSteps(raw: unknown[]): Step[] {
  return raw.map((step, index) => {
    const fail = () => validationFailed('steps', raw as Json, [{ expected: 'valid-step?', in: [index] }]);
    if (!Array.isArray(step) || step.length < 3 || typeof step[0] !== 'string' || typeof step[1] !== 'string')
      throw fail();
    const [action, ns, eid, args, opts] = step as [string, string, unknown, unknown, unknown];
    if (!ACTIONS.has(action)) {
      throw validationFailed('action', action, [{ message: `Unsupported action ${action}`, hint: { value: action } }]);
    }
    const slot = parseSlot(eid);
    if (!slot) {
      throw validationFailed('steps', raw as Json, [
        {
          message: `Invalid entity ID '${String(eid)}'. Entity IDs must be UUIDs or lookup references.`,
          in: [index, 2],
        },
      ]);
    }
    if (action !== 'delete' && !isPlainObject(args)) throw fail();
    const upsertOpt = isPlainObject(opts) ? opts['upsert'] : undefined;
    const body = isPlainObject(args) ? { ...args } : {};
    delete body['id']; // the server ignores `id` inside the args
    return {
      action: action as Action,
      ns,
      slot,
      args: body,
      upsert: typeof upsertOpt === 'boolean' ? upsertOpt : undefined,
    };
  });
}

function parseSlot(eid: unknown): Slot | null {
  const id = normalizeUuid(eid);
  if (id) return { kind: 'id', id };
  if (typeof eid === 'string' && eid.startsWith('lookup__')) return parseLookupString(eid);
  if (Array.isArray(eid) && eid.length === 2 && typeof eid[0] === 'string')
    return { kind: 'lookup', label: eid[0], value: eid[1] };
  if (isPlainObject(eid) && Object.keys(eid).length === 1) {
    const [label, value] = Object.entries(eid)[0]!;
    return { kind: 'lookup', label, value };
  }
  return null;
}

/** `lookup__<attr>__<json>` as the SDK encodes lookups in link values. */
export function parseLookupString(text: string): Slot {
  const [, label = '', ...jsonParts] = text.split('__');
  const json = jsonParts.join('__');
  try {
    return { kind: 'lookup', label, value: JSON.parse(json) as unknown };
  } catch {
    throw validationFailed('lookup', text, [
      { message: 'lookup value is invalid', hint: { attribute: label, value: json } },
    ]);
  }
}

/** Finds the attributes the steps need but the app lacks; creates them or refuses (§5.7). */
function addMissingAttrs(app: TransactTarget, steps: Step[], raw: unknown[], throwOnMissing: boolean): string[] {
  const { catalog, store } = app;
  const planned = new Map<string, () => () => void>();
  const plan = (name: string, add: () => () => void) => {
    if (!planned.has(name)) planned.set(name, add);
  };
  const blobSpec = (ns: string, label: string, lookup: boolean) => () =>
    catalog.addBlob({
      ns,
      label,
      unique: lookup || label === 'id',
      indexed: lookup,
      required: false,
      checkedType: null,
    });
  // Links written without a schema are many-to-many, their reverse namespace named after the label.
  const refSpec = (ns: string, label: string, single: boolean) => () =>
    catalog.addRef({
      ns,
      label,
      revNs: label,
      revLabel: ns,
      cardinality: single ? 'one' : 'many',
      unique: single,
      required: false,
      cascadeFromTarget: false,
      cascadeFromSource: false,
    });
  const linkEtype = (ns: string, label: string) =>
    catalog.fwdRef(ns, label)?.revNs ?? catalog.revRef(ns, label)?.ns ?? label;
  const needsRef = (ns: string, label: string) => !catalog.fwdRef(ns, label) && !catalog.revRef(ns, label);
  for (const step of steps) {
    if (step.action === 'ruleParams') continue;
    if (step.slot.kind === 'lookup' && !catalog.blob(step.ns, step.slot.label)) {
      plan(`${step.ns}.${step.slot.label}`, blobSpec(step.ns, step.slot.label, true));
    }
    if (step.action !== 'link') continue;
    for (const [label, value] of Object.entries(step.args)) {
      for (const target of asList(value)) {
        if (typeof target !== 'string' || !target.startsWith('lookup__')) continue;
        const lookup = parseLookupString(target) as { label: string };
        const targetNs = linkEtype(step.ns, label);
        if (needsRef(step.ns, label)) plan(`${step.ns}.${label}`, refSpec(step.ns, label, true));
        if (!catalog.blob(targetNs, lookup.label))
          plan(`${targetNs}.${lookup.label}`, blobSpec(targetNs, lookup.label, true));
      }
    }
  }
  for (const step of steps) {
    if (!OBJ_ACTIONS.has(step.action)) continue;
    if (!catalog.hasNamespace(step.ns)) plan(`${step.ns}.id`, blobSpec(step.ns, 'id', false));
    for (const label of Object.keys(step.args)) {
      if (step.action === 'link' || step.action === 'unlink') {
        if (needsRef(step.ns, label)) plan(`${step.ns}.${label}`, refSpec(step.ns, label, false));
      } else if (!catalog.blob(step.ns, label) && !catalog.fwdRef(step.ns, label)) {
        plan(`${step.ns}.${label}`, blobSpec(step.ns, label, false));
      }
    }
  }
  if (!planned.size) return [];
  if (throwOnMissing) {
    throw validationFailed('steps', raw as Json, [
      { message: 'Attributes are missing in your schema', hint: { attributes: [...planned.keys()] } },
    ]);
  }
  for (const add of planned.values()) store.onRollback(add());
  return [...planned.keys()];
}

function applyStep(app: TransactTarget, step: Step, lookupCreated: Set<string>, newId: () => string): void {
  const { catalog, store } = app;
  if (step.action === 'ruleParams') return; // read by the permission guard, writes nothing
  const resolved = resolveSlot(app, step.ns, step.slot);
  if (step.action === 'delete') {
    if (resolved) store.deleteEntity(step.ns, resolved);
    return;
  }
  const existedBefore =
    resolved !== null && store.hasTriples(step.ns, resolved) && !store.createdInTx(step.ns, resolved);
  if (step.action === 'create' && existedBefore) {
    throw validationFailed(
      'tx-step',
      [{ eid: resolved, etype: step.ns }],
      [{ message: `Creating entities that exist: ${resolved}` }],
    );
  }
  if (step.upsert === false && !existedBefore) {
    const eid = resolved ?? slotJson(step.slot);
    throw validationFailed(
      'tx-step',
      [{ eid, etype: step.ns }],
      [{ message: `Updating entities that don't exist: ${JSON.stringify(eid)}` }],
    );
  }
  let id = resolved;
  if (id === null) {
    // An id-slot lookup that finds nothing creates the entity (upsert by unique key).
    const slot = step.slot as Extract<Slot, { kind: 'lookup' }>;
    id = newId();
    store.setAttr(store.ensureEntity(step.ns, id), catalog.blob(step.ns, slot.label)!, slot.value);
    lookupCreated.add(`${step.ns}\u0000${id}`);
  } else if (step.slot.kind === 'lookup') {
    store.ensureEntity(step.ns, id);
  }
  if (step.action === 'link' || step.action === 'unlink') {
    for (const [label, value] of Object.entries(step.args)) {
      const fwd = catalog.fwdRef(step.ns, label);
      const ref = (fwd ?? catalog.revRef(step.ns, label))!;
      for (const raw of asList(value)) {
        const other = resolveLinkValue(app, ref, fwd ? ref.revNs : ref.ns, raw, lookupCreated, id);
        const [source, target] = fwd ? [id, other] : [other, id];
        if (step.action === 'link') store.link(ref, source, target);
        else store.unlink(ref, source, target);
      }
    }
    return;
  }
  const entity = store.ensureEntity(step.ns, id);
  for (const [label, value] of Object.entries(step.args)) {
    const attr = catalog.blob(step.ns, label);
    if (attr) store.setAttr(entity, attr, step.action === 'merge' ? deepMerge(entity.attrs[label], value) : value);
    else {
      // A forward link label in update args is just another triple on the server: it links.
      const ref = catalog.fwdRef(step.ns, label)!;
      store.link(ref, id, resolveLinkValue(app, ref, ref.revNs, value, lookupCreated, id));
    }
  }
  // The server stores an explicit null for every indexed attribute the entity has no value for.
  for (const attr of catalog.blobsOf(step.ns)) {
    if (attr.indexed && attr.label !== 'id' && !Object.hasOwn(entity.attrs, attr.label))
      store.setAttr(entity, attr, null);
  }
}

/** The entity id an id slot names, or null for a lookup that finds nothing. */
function resolveSlot(app: TransactTarget, ns: string, slot: Slot): string | null {
  if (slot.kind === 'id') return slot.id;
  if (slot.label === 'id') return normalizeUuid(slot.value); // an id looks itself up
  return findByLookup(app, ns, uniqueAttr(app, ns, slot.label, slot), slot.value) ?? null;
}

/** The entity holding `value` in the unique attribute `attr`. */
function findByLookup(app: TransactTarget, ns: string, attr: BlobAttr, value: unknown): string | undefined {
  if (attr.label === 'id') {
    const id = normalizeUuid(value);
    return id !== null && app.store.entity(ns, id) ? id : undefined;
  }
  const [owner] = app.store.lookup(attr, value) ?? [];
  return owner;
}

function resolveLinkValue(
  app: TransactTarget,
  ref: RefAttr,
  targetNs: string,
  raw: unknown,
  lookupCreated: Set<string>,
  entityId: string,
): string {
  const id = normalizeUuid(raw);
  if (id) return id;
  if (typeof raw !== 'string' || !raw.startsWith('lookup__')) {
    throw validationFailedRaw('Linked value must be a valid uuid.', {
      namespace: ref.ns,
      attribute: ref.label,
      value: raw as Json,
      'checked-data-type': null,
      'attr-id': ref.id,
      'entity-id': entityId,
    });
  }
  const lookup = parseLookupString(raw) as Extract<Slot, { kind: 'lookup' }>;
  const attr = uniqueAttr(app, targetNs, lookup.label, raw);
  const owner = findByLookup(app, targetNs, attr, lookup.value);
  // Value lookups see rows that existed before the request or that an id-slot lookup created (§5.3).
  const visible = owner && (!app.store.createdInTx(targetNs, owner) || lookupCreated.has(`${targetNs}\u0000${owner}`));
  if (!visible) {
    throw validationFailed(
      'lookup',
      { 'attribute-id': attr.id, namespace: targetNs, label: lookup.label, value: lookup.value as Json },
      [{ message: 'The entity for the lookup does not exist.' }],
    );
  }
  return owner;
}

function uniqueAttr(app: TransactTarget, ns: string, label: string, input: unknown): BlobAttr {
  const attr = app.catalog.blob(ns, label);
  if (!attr || !attr.unique) {
    throw validationFailed('lookup', slotJson(input), [{ message: `${label} is not a unique attribute on ${ns}` }]);
  }
  return attr;
}

/** Required attributes of every entity this transaction wrote to, checked after all steps (§5.3). */
function checkRequired(app: TransactTarget): void {
  const { catalog, store } = app;
  const rows: { entity_id: string; attr_id: string; etype: string; label: string; is_required: boolean }[] = [];
  for (const { ns, id } of store.touchedEntities()) {
    const blobs = [...catalog.blobsOf(ns)].filter((a) => a.required);
    const refs = [...catalog.fwdRefsOf(ns)].filter((r) => r.required);
    if (!blobs.length && !refs.length) continue;
    const entity = store.entity(ns, id);
    if (!entity && !store.hasTriples(ns, id)) continue; // deleted in this transaction
    const row = (attrId: string, label: string) =>
      rows.push({ entity_id: id, attr_id: attrId, etype: ns, label, is_required: label !== 'id' });
    if (!entity) row(catalog.blob(ns, 'id')!.id, 'id');
    for (const a of blobs)
      if (entity?.attrs[a.label] === undefined || entity.attrs[a.label] === null) row(a.id, a.label);
    for (const r of refs) if (!store.targets(r, id).size) row(r.id, r.label);
  }
  if (!rows.length) return;
  const groups = new Map<string, typeof rows>();
  for (const r of rows) {
    const key = `${r.etype}/${r.label}`;
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  const message = [...groups]
    .map(([key, rs]) =>
      rs.length === 1
        ? `Missing required attribute \`${key}\`: ${rs[0]!.entity_id}`
        : `Missing required attributes \`${key}\`: ${rs.map((r) => r.entity_id).join(', ')}`,
    )
    .join('. ');
  throw validationFailedRaw(message, { records: rows });
}

/** Postgres `jsonb_deep_merge`: objects merge key by key, a null in the patch removes the key. */
export function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = isPlainObject(out[key]) && isPlainObject(value) ? deepMerge(out[key], value) : value;
  }
  return out;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function slotJson(value: unknown): Json {
  if (value && typeof value === 'object' && 'kind' in value) {
    const slot = value as Slot;
    return slot.kind === 'id' ? slot.id : [slot.label, slot.value as Json];
  }
  return value as Json;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
