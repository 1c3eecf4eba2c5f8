/**
 * Permission checks of an impersonated transaction (permissioned_transaction.clj › pre-checks,
 * post-create-checks): before the writes, `update` for entities that existed, `link`/`unlink`
 * by label on both sides of a link (falling back to `update` on the source and `view` on the
 * target when neither side has a link rule), `delete` (only that); after the writes, `create`
 * for entities that did not exist, and the `attrs` `create` rule for attributes made on the fly.
 *
 * `data` is the entity as stored before the transaction; `newData` is the server's
 * `updated-entities-map`: that entity with every step of the transaction folded in (values set,
 * objects deep-merged, link labels set to their target, unlinked labels removed), computed
 * before anything is written. A created entity's `data` is that map too. `request.modifiedFields`
 * lists the labels the transaction writes on the entity, across all its steps.
 *
 * Not reproduced: `request.time`/`origin`/`ip`, the `actions` binding, system-column checks
 * other than creating or deleting `$users`.
 */
import { permissionDenied, validationFailed, type Json } from '../errors.js';
import type { RefAttr } from '../schema.js';
import { deepMerge, parseLookupString, type Slot, type Step, type TransactGuard } from '../transact.js';
import { normalizeUuid } from '../uuid.js';
import { rulesFor, toRuleValue, type RuleProgram } from './program.js';
import type { Reader, RuledApp } from './query-filter.js';
import { RuleData } from './rule-data.js';

interface Check {
  readonly program: RuleProgram;
  readonly ns: string;
  readonly id: string;
  readonly bindings: Record<string, unknown>;
}

interface RefOp {
  readonly ref: RefAttr;
  readonly add: boolean;
  readonly source: string | undefined;
  readonly target: string | undefined;
}

/** A guard that enforces `app`'s rules for `reader` on one transaction. */
export function ruleGuard(app: RuledApp, reader: Reader): TransactGuard {
  const rules = rulesFor(app.perms);
  const data = new RuleData(app);
  const auth = data.auth(reader.user);
  const existed = new Set<string>();
  const exists = (ns: string, id: string | undefined) => id !== undefined && app.store.hasTriples(ns, id);
  const before = (ns: string, id: string | undefined) =>
    id === undefined ? data.map(ns, null) : data.map(ns, data.entity(ns, id) ?? { id });
  /** The server's updated-entities-map, filled by `before()`; keyed by `ns\0id` (or `ns\0lookup` while unresolved). */
  let updated = new Map<string, Record<string, unknown>>();
  const modified = new Map<string, Set<string>>();
  const after = (ns: string, id: string | undefined, slot?: Slot) => {
    const fields = (id !== undefined && updated.get(`${ns}\u0000${id}`)) || (slot && updated.get(slotKey(ns, slot)));
    return fields ? data.map(ns, { ...fields, ...(id !== undefined ? { id } : {}) }) : before(ns, id);
  };

  const resolve = (ns: string, slot: Slot): string | undefined => {
    if (slot.kind === 'id') return slot.id;
    if (slot.label === 'id') return normalizeUuid(slot.value) ?? undefined;
    const attr = app.catalog.blob(ns, slot.label);
    const [id] = (attr && app.store.lookup(attr, slot.value)) ?? [];
    return id;
  };
  const linkTarget = (ns: string, raw: unknown) => {
    const id = normalizeUuid(raw);
    if (id) return id;
    return typeof raw === 'string' && raw.startsWith('lookup__') ? resolve(ns, parseLookupString(raw)) : undefined;
  };
  const refOps = (step: Step, eid: string | undefined): RefOp[] => {
    const ops: RefOp[] = [];
    const linking = step.action === 'link' || step.action === 'unlink';
    for (const [label, value] of Object.entries(step.args)) {
      const fwd = app.catalog.fwdRef(step.ns, label);
      const ref = fwd ?? (linking ? app.catalog.revRef(step.ns, label) : undefined);
      if (!ref || (!linking && !fwd)) continue;
      for (const raw of Array.isArray(value) ? value : [value]) {
        const other = linkTarget(fwd ? ref.revNs : ref.ns, raw);
        const [source, target] = fwd ? [eid, other] : [other, eid];
        ops.push({ ref, add: step.action !== 'unlink', source, target });
      }
    }
    return ops;
  };
  /** permissioned_transaction.clj › update-entities-map, over the sandbox's steps. */
  const foldSteps = (steps: readonly Step[]) => {
    updated = new Map();
    modified.clear();
    const entry = (ns: string, id: string | undefined, slot: Slot) => {
      const key = id !== undefined ? `${ns}\u0000${id}` : slotKey(ns, slot);
      let fields = updated.get(key);
      if (!fields) {
        fields = { ...(id !== undefined ? (data.entity(ns, id) ?? { id }) : {}) };
        if (slot.kind === 'lookup') fields[slot.label] = slot.value;
        updated.set(key, fields);
      }
      return { key, fields };
    };
    const touch = (key: string, label: string) => {
      if (label === 'id') return;
      const labels = modified.get(key);
      if (labels) labels.add(label);
      else modified.set(key, new Set([label]));
    };
    for (const step of steps) {
      if (step.action === 'ruleParams' || step.action === 'delete') continue;
      const id = resolve(step.ns, step.slot);
      if (step.action === 'link' || step.action === 'unlink') {
        for (const op of refOps(step, id)) {
          if (op.source === undefined) continue;
          const { key, fields } = entry(op.ref.ns, op.source, { kind: 'id', id: op.source });
          if (op.add) {
            fields[op.ref.label] = op.target ?? null;
            touch(key, op.ref.label);
          } else delete fields[op.ref.label];
        }
        continue;
      }
      const { key, fields } = entry(step.ns, id, step.slot);
      for (const [label, value] of Object.entries(step.args)) {
        fields[label] = step.action === 'merge' ? deepMerge(fields[label], value) : value;
        touch(key, label);
      }
    }
  };
  const ruleParams = (steps: readonly Step[]) => {
    const params: Record<string, unknown> = { ...(reader.ruleParams as Record<string, unknown> | undefined) };
    for (const step of steps) if (step.action === 'ruleParams') Object.assign(params, step.args);
    return toRuleValue(params);
  };
  const run = (checks: Check[], scope: 'object' | 'attr' = 'object') => {
    const done = new Set<string>();
    for (const check of checks) {
      const key = `${check.program.etype}\u0000${check.program.action}\u0000${check.ns}\u0000${check.id}`;
      if (done.has(key)) continue;
      done.add(key);
      if (!check.program.passes({ auth, data: null, ...check.bindings }, data.refs))
        throw permissionDenied(check.ns, scope);
    }
  };
  /**
   * Checks for one link or unlink, on whichever sides `alive` accepts. Before the writes
   * (`created` false) `data` is each side as stored; after them (a side the transaction created)
   * it is that side's new state.
   */
  const linkChecks = (
    op: RefOp,
    alive: (ns: string, id: string | undefined) => boolean,
    params: unknown,
    created: boolean,
  ): Check[] => {
    const action = op.add ? 'link' : 'unlink';
    const fwd = rules.linkProgram(op.ref.ns, action, op.ref.label);
    const rev = rules.linkProgram(op.ref.revNs, action, op.ref.revLabel);
    const out: Check[] = [];
    const source = { old: before(op.ref.ns, op.source), new: after(op.ref.ns, op.source) };
    const target = { old: before(op.ref.revNs, op.target), new: after(op.ref.revNs, op.target) };
    const side = (self: typeof source, linked: unknown) => ({
      data: created ? self.new : self.old,
      newData: self.new,
      linkedData: linked,
      ruleParams: params,
    });
    if (fwd || rev) {
      if (fwd && alive(op.ref.ns, op.source))
        out.push({
          program: fwd,
          ns: op.ref.ns,
          id: op.source!,
          bindings: side(source, created ? target.new : target.old),
        });
      if (rev && alive(op.ref.revNs, op.target))
        out.push({ program: rev, ns: op.ref.revNs, id: op.target!, bindings: side(target, source.new) });
      return out;
    }
    const update = rules.program(op.ref.ns, 'update');
    const view = rules.program(op.ref.revNs, 'view');
    if (update && alive(op.ref.ns, op.source))
      out.push({
        program: update,
        ns: op.ref.ns,
        id: op.source!,
        bindings: { ...side(source, null), request: modifiedFields(op.ref.ns, op.source) },
      });
    if (view && alive(op.ref.revNs, op.target))
      out.push({ program: view, ns: op.ref.revNs, id: op.target!, bindings: side(target, null) });
    return out;
  };
  const modifiedFields = (ns: string, id: string | undefined) =>
    toRuleValue({ modifiedFields: [...(modified.get(`${ns}\u0000${id}`) ?? [])] });

  return {
    before(steps) {
      foldSteps(steps);
      const params = ruleParams(steps);
      const checks: Check[] = [];
      for (const step of steps) {
        if (step.action === 'ruleParams') continue;
        const id = resolve(step.ns, step.slot);
        if (step.ns === '$users' && (step.action === 'delete' || !exists(step.ns, id))) {
          const message =
            step.action === 'delete'
              ? "$users is a system entity. You aren't allowed to delete this directly."
              : "$users is a system entity. You aren't allowed to create this directly.";
          throw validationFailed('tx-step', [step.action, step.ns, id ?? null] as Json, [{ message }]);
        }
        if (exists(step.ns, id)) existed.add(`${step.ns}\u0000${id}`);
        if (step.action === 'delete') {
          const program = rules.program(step.ns, 'delete');
          if (program)
            checks.push({
              program,
              ns: step.ns,
              id: id ?? '',
              bindings: { data: before(step.ns, id), ruleParams: params },
            });
          continue;
        }
        for (const op of refOps(step, id)) {
          for (const [ns, other] of [
            [op.ref.ns, op.source],
            [op.ref.revNs, op.target],
          ] as const) {
            if (exists(ns, other)) existed.add(`${ns}\u0000${other}`);
          }
          checks.push(...linkChecks(op, exists, params, false));
        }
        const update = rules.program(step.ns, 'update');
        if (step.action !== 'link' && step.action !== 'unlink' && update && exists(step.ns, id)) {
          checks.push({
            program: update,
            ns: step.ns,
            id: id!,
            bindings: {
              data: before(step.ns, id),
              newData: after(step.ns, id),
              ruleParams: params,
              request: modifiedFields(step.ns, id),
            },
          });
        }
      }
      run(checks);
    },

    after(steps, addedAttrs) {
      const attrsRule = rules.program('attrs', 'create');
      if (attrsRule) {
        run(
          addedAttrs.map((name) => ({
            program: attrsRule,
            ns: 'attrs',
            id: name,
            bindings: { data: toRuleValue({ name }) },
          })),
          'attr',
        );
      }
      const params = ruleParams(steps);
      const created = (ns: string, id: string | undefined) =>
        id !== undefined && !existed.has(`${ns}\u0000${id}`) && exists(ns, id);
      const checks: Check[] = [];
      for (const step of steps) {
        if (step.action === 'ruleParams' || step.action === 'delete' || step.action === 'unlink') continue;
        const id = resolve(step.ns, step.slot);
        // `data.ref(...)` reads the store after the writes, so links made in this transaction count.
        if (step.action !== 'link' && created(step.ns, id)) {
          const program = rules.program(step.ns, 'create');
          if (program) {
            const state = after(step.ns, id, step.slot);
            checks.push({
              program,
              ns: step.ns,
              id: id!,
              bindings: { data: state, newData: state, ruleParams: params, request: modifiedFields(step.ns, id) },
            });
          }
        }
        for (const op of refOps(step, id)) {
          const linkRules =
            rules.linkProgram(op.ref.ns, 'link', op.ref.label) ??
            rules.linkProgram(op.ref.revNs, 'link', op.ref.revLabel);
          if (linkRules) checks.push(...linkChecks(op, created, params, true));
          else if (created(op.ref.ns, op.source)) {
            const program = rules.program(op.ref.ns, 'create');
            if (program) {
              const state = after(op.ref.ns, op.source);
              checks.push({
                program,
                ns: op.ref.ns,
                id: op.source!,
                bindings: { data: state, newData: state, ruleParams: params },
              });
            }
          }
        }
      }
      run(checks);
    },
  };
}

/** The updated-entities-map key of an entity named by a lookup that found nothing before the writes. */
function slotKey(ns: string, slot: Slot): string {
  return slot.kind === 'id'
    ? `${ns}\u0000${slot.id}`
    : `${ns}\u0000lookup\u0000${slot.label}\u0000${JSON.stringify(slot.value)}`;
}
