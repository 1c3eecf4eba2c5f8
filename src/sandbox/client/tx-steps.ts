/**
 * A client's `transact` tx-steps (transaction.clj's spec; @instantdb/core's instaml.ts makes
 * them), turned into the sandbox's admin-format steps so that one transaction engine and one
 * permission guard serve both protocols:
 *
 *   ["add-attr", attr]                        → the attribute, made inside the transaction with the client's ids
 *   ["add-triple", e, idAttr, e, {mode}]      → ["create"|"update", ns, e, {}, {upsert}]
 *   ["add-triple", e, attr, v, {mode}]        → ["create"|"update", ns, e, {label: v}, {upsert}]
 *   ["add-triple", e, refAttr, target]        → ["link", ns, e, {label: target}]
 *   ["deep-merge-triple", e, attr, v, {mode}] → ["merge", ns, e, {label: v}, {upsert}]
 *   ["retract-triple", e, refAttr, target]    → ["unlink", ns, e, {label: target}]
 *   ["delete-entity", e, etype]               → ["delete", etype, e]
 *   ["rule-params", e, etype, params]         → ["ruleParams", etype, e, params]
 *
 * `e` (and a link's target) may be a lookup `[attrId, value]`. Consecutive plain triples of one
 * entity and mode become one step, so update rules see the whole write. An `add-attr` whose
 * forward identity the app already has is dropped and its id stands for the existing attribute
 * (for a link declared from its other side, with source and target swapped), as the client's
 * own `_rewriteMutations` does once it learns the server's attrs.
 *
 * Not reproduced: `update-attr`, `delete-attr`, `restore-attr` (refused: permission-denied for a
 * browser, as on the server; validation-failed for an admin session), retracting a plain
 * attribute, lookups through a link (`{'owner.id': …}`).
 */
import { permissionDenied, validationFailed, type Json } from '../errors.js';
import type { AttrCatalog, BlobAttr, CheckedType, RefAttr } from '../schema.js';
import { normalizeUuid } from '../uuid.js';

/** A client transaction in the sandbox's terms. */
export interface ClientTransaction {
  /** Admin-format steps for `applyTransaction`. */
  readonly steps: unknown[];
  /** Adds the declared attributes the app lacks (call inside the transaction); returns their `ns.label` names. */
  addAttrs(catalog: AttrCatalog, onRollback: (undo: () => void) => void): string[];
}

type Attr = BlobAttr | RefAttr;
/** What a client attr id stands for: an attribute, possibly a link seen from its other side. */
interface AttrUse {
  readonly attr: Attr;
  readonly swap: boolean;
}

const CHECKED: ReadonlySet<string> = new Set(['string', 'number', 'boolean', 'date']);

/** Translates `txSteps`; throws validation-failed (or permission-denied) on a step it cannot take. */
export function translateTxSteps(catalog: AttrCatalog, txSteps: unknown, admin: boolean): ClientTransaction {
  if (!Array.isArray(txSteps)) throw invalid(txSteps, 'tx-steps must be a list of steps.');
  const uses = new Map<string, AttrUse>();
  const planned: Attr[] = [];
  const use = (id: unknown, step: unknown): AttrUse => {
    const found = typeof id === 'string' ? (uses.get(id) ?? existing(catalog, id)) : undefined;
    if (!found) throw invalid(step, `No attribute with id ${JSON.stringify(id)}.`);
    return found;
  };

  for (const step of txSteps) {
    if (!Array.isArray(step) || typeof step[0] !== 'string') throw invalid(step, 'A tx-step must be [op, …].');
    const op = step[0];
    if (op === 'update-attr' || op === 'delete-attr' || op === 'restore-attr') {
      if (!admin) throw permissionDenied('attrs', 'attr');
      throw invalid(step, `The sandbox does not support ${op}; change the schema with a schema push.`);
    }
    if (op !== 'add-attr') continue;
    const attr = parseAttr(step[1], step);
    const same = declaredAs(catalog, planned, attr);
    if (same) uses.set(attr.id, same);
    else {
      if (catalog.byId(attr.id) || uses.has(attr.id)) throw invalid(step, `Another attribute has the id ${attr.id}.`);
      planned.push(attr);
      uses.set(attr.id, { attr, swap: false });
    }
  }

  const steps: unknown[][] = [];
  // The plain-attribute step being filled; a new key (other entity, action or mode) starts another.
  let openKey = '';
  let openArgs: Record<string, unknown> = {};
  for (const step of txSteps as unknown[][]) {
    const [op, e, a, v, opts] = step;
    if (op === 'add-attr') continue;
    if (op === 'delete-entity' || op === 'rule-params') {
      openKey = '';
      if (typeof a !== 'string') throw invalid(step, `${op} needs the entity's namespace.`);
      const eid = entityRef(e, a, use, step);
      steps.push(op === 'delete-entity' ? ['delete', a, eid] : ['ruleParams', a, eid, isObject(v) ? v : {}]);
      continue;
    }
    if (op !== 'add-triple' && op !== 'deep-merge-triple' && op !== 'retract-triple')
      throw invalid(step, `Unknown tx-step op ${JSON.stringify(op)}.`);
    const { attr, swap } = use(a, step);
    if (attr.kind === 'ref') {
      openKey = '';
      if (op === 'deep-merge-triple') throw invalid(step, 'A link cannot be deep-merged.');
      const [source, target] = swap ? [v, e] : [e, v];
      steps.push([
        op === 'add-triple' ? 'link' : 'unlink',
        attr.ns,
        entityRef(source, attr.ns, use, step),
        { [attr.label]: linkValue(target, attr.revNs, use, step) },
      ]);
      continue;
    }
    if (op === 'retract-triple') throw invalid(step, 'The sandbox does not support retracting a plain attribute.');
    const mode = isObject(opts) ? opts['mode'] : undefined;
    const action = op === 'deep-merge-triple' ? 'merge' : mode === 'create' ? 'create' : 'update';
    const eid = entityRef(e, attr.ns, use, step);
    const key = JSON.stringify([action, attr.ns, eid, mode ?? null]);
    if (openKey !== key) {
      openKey = key;
      openArgs = {};
      steps.push([action, attr.ns, eid, openArgs, ...(mode === 'update' ? [{ upsert: false }] : [])]);
    }
    if (attr.label !== 'id') openArgs[attr.label] = v;
  }

  return {
    steps,
    addAttrs(target, onRollback) {
      for (const attr of planned) {
        const { kind: _kind, ...spec } = attr;
        onRollback(attr.kind === 'blob' ? target.addBlob(attr) : target.addRef(spec as Omit<RefAttr, 'kind'>));
      }
      return planned.map((attr) => `${attr.ns}.${attr.label}`);
    },
  };
}

/** The catalogue's attribute with this id. */
function existing(catalog: AttrCatalog, id: string): AttrUse | undefined {
  const attr = catalog.byId(id);
  return attr && { attr, swap: false };
}

/** The attribute the app (or this transaction) already has under `attr`'s forward identity. */
function declaredAs(catalog: AttrCatalog, planned: Attr[], attr: Attr): AttrUse | undefined {
  const same = catalog.blob(attr.ns, attr.label) ?? catalog.fwdRef(attr.ns, attr.label);
  if (same) return { attr: same, swap: false };
  const reverse = catalog.revRef(attr.ns, attr.label);
  if (reverse) return { attr: reverse, swap: true };
  const earlier = planned.find((p) => p.ns === attr.ns && p.label === attr.label);
  if (earlier) return { attr: earlier, swap: false };
  const flipped = planned.find((p) => p.kind === 'ref' && p.revNs === attr.ns && p.revLabel === attr.label);
  return flipped && { attr: flipped, swap: true };
}

/** An `add-attr` body (attr.clj's spec, as instaml.ts writes it). */
function parseAttr(raw: unknown, step: unknown): Attr {
  if (!isObject(raw)) throw invalid(step, 'add-attr needs an attribute.');
  const id = normalizeUuid(raw['id']);
  const fwd = identity(raw['forward-identity']);
  if (!id || !fwd) throw invalid(step, 'An attribute needs an id and a forward-identity [id, etype, label].');
  const flag = (key: string) => raw[key] === true;
  if (raw['value-type'] === 'ref') {
    const rev = identity(raw['reverse-identity']);
    if (!rev) throw invalid(step, 'A link attribute needs a reverse-identity [id, etype, label].');
    return {
      kind: 'ref',
      id,
      identId: fwd.id,
      revIdentId: rev.id,
      ns: fwd.ns,
      label: fwd.label,
      revNs: rev.ns,
      revLabel: rev.label,
      cardinality: raw['cardinality'] === 'one' ? 'one' : 'many',
      unique: flag('unique?'),
      required: flag('required?'),
      cascadeFromTarget: raw['on-delete'] === 'cascade',
      cascadeFromSource: raw['on-delete-reverse'] === 'cascade',
    };
  }
  if (raw['value-type'] !== 'blob') throw invalid(step, "An attribute's value-type is blob or ref.");
  const checked = raw['checked-data-type'];
  return {
    kind: 'blob',
    id,
    identId: fwd.id,
    ns: fwd.ns,
    label: fwd.label,
    unique: flag('unique?'),
    indexed: flag('index?'),
    required: flag('required?'),
    checkedType: typeof checked === 'string' && CHECKED.has(checked) ? (checked as CheckedType) : null,
  };
}

function identity(raw: unknown): { id: string; ns: string; label: string } | null {
  if (!Array.isArray(raw) || raw.length !== 3) return null;
  const id = normalizeUuid(raw[0]);
  const [, ns, label] = raw as [unknown, unknown, unknown];
  return id && typeof ns === 'string' && typeof label === 'string' ? { id, ns, label } : null;
}

/** An entity position: a UUID, or a lookup `[attrId, value]` on a unique attribute of `ns`. */
function entityRef(raw: unknown, ns: string, use: (id: unknown, step: unknown) => AttrUse, step: unknown): unknown {
  const id = normalizeUuid(raw);
  if (id) return id;
  const lookup = lookupOf(raw, ns, use, step);
  return [lookup.label, lookup.value];
}

/** A link's target as the admin format writes it: a UUID or `lookup__<label>__<json>`. */
function linkValue(raw: unknown, ns: string, use: (id: unknown, step: unknown) => AttrUse, step: unknown): unknown {
  const id = normalizeUuid(raw);
  if (id) return id;
  const lookup = lookupOf(raw, ns, use, step);
  return `lookup__${lookup.label}__${JSON.stringify(lookup.value)}`;
}

function lookupOf(
  raw: unknown,
  ns: string,
  use: (id: unknown, step: unknown) => AttrUse,
  step: unknown,
): { label: string; value: unknown } {
  if (!Array.isArray(raw) || raw.length !== 2)
    throw invalid(step, `Invalid entity ID '${String(raw)}'. Entity IDs must be UUIDs or lookup references.`);
  const { attr } = use(raw[0], step);
  if (attr.kind !== 'blob' || attr.ns !== ns)
    throw invalid(step, 'Invalid lookup. The namespace of the lookup attribute is not the entity’s.');
  return { label: attr.label, value: raw[1] };
}

function invalid(input: unknown, message: string) {
  return validationFailed('tx-step', (input ?? null) as Json, [{ message }]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
