/**
 * Permission checks of an impersonated transaction (permissioned_transaction.clj › pre-checks,
 * post-create-checks): before the writes, `update` for entities that existed, `link`/`unlink`
 * by label on both sides of a link (falling back to `update` on the source and `view` on the
 * target when neither side has a link rule), `delete` (only that); after the writes, `create`
 * for entities that did not exist, and the `attrs` `create` rule for attributes made on the fly.
 *
 * Not reproduced: `request.time`/`origin`/`ip`, `newData` of merges (it is the stored state
 * after the writes rather than the server's pre-computed map), system-column checks other
 * than creating or deleting `$users`.
 */
import { permissionDenied, validationFailed, type Json } from '../errors.js';
import type { RefAttr } from '../schema.js';
import { parseLookupString, type Slot, type Step, type TransactGuard } from '../transact.js';
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
  const state = (ns: string, id: string | undefined) =>
    id === undefined ? data.map(ns, null) : data.map(ns, data.entity(ns, id) ?? { id });

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
  /** Checks for one link or unlink, on whichever sides `alive` accepts. */
  const linkChecks = (op: RefOp, alive: (ns: string, id: string | undefined) => boolean, params: unknown): Check[] => {
    const action = op.add ? 'link' : 'unlink';
    const fwd = rules.linkProgram(op.ref.ns, action, op.ref.label);
    const rev = rules.linkProgram(op.ref.revNs, action, op.ref.revLabel);
    const out: Check[] = [];
    const sourceData = state(op.ref.ns, op.source);
    const targetData = state(op.ref.revNs, op.target);
    const bindings = (self: unknown, linked: unknown) => ({
      data: self,
      newData: self,
      linkedData: linked,
      ruleParams: params,
    });
    if (fwd || rev) {
      if (fwd && alive(op.ref.ns, op.source))
        out.push({ program: fwd, ns: op.ref.ns, id: op.source!, bindings: bindings(sourceData, targetData) });
      if (rev && alive(op.ref.revNs, op.target))
        out.push({ program: rev, ns: op.ref.revNs, id: op.target!, bindings: bindings(targetData, sourceData) });
      return out;
    }
    const update = rules.program(op.ref.ns, 'update');
    const view = rules.program(op.ref.revNs, 'view');
    if (update && alive(op.ref.ns, op.source))
      out.push({ program: update, ns: op.ref.ns, id: op.source!, bindings: bindings(sourceData, null) });
    if (view && alive(op.ref.revNs, op.target))
      out.push({ program: view, ns: op.ref.revNs, id: op.target!, bindings: bindings(targetData, null) });
    return out;
  };

  return {
    before(steps) {
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
              bindings: { data: state(step.ns, id), ruleParams: params },
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
          checks.push(...linkChecks(op, exists, params));
        }
        const update = rules.program(step.ns, 'update');
        if (step.action !== 'link' && step.action !== 'unlink' && update && exists(step.ns, id)) {
          const modifiedFields = Object.keys(step.args);
          checks.push({
            program: update,
            ns: step.ns,
            id: id!,
            bindings: {
              data: state(step.ns, id),
              newData: state(step.ns, id),
              ruleParams: params,
              request: toRuleValue({ modifiedFields }),
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
        // Rules re-read the store afterwards, so `data` already carries this step's later writes.
        if (step.action !== 'link' && created(step.ns, id)) {
          const program = rules.program(step.ns, 'create');
          if (program)
            checks.push({
              program,
              ns: step.ns,
              id: id!,
              bindings: { data: state(step.ns, id), newData: state(step.ns, id), ruleParams: params },
            });
        }
        for (const op of refOps(step, id)) {
          const linkRules =
            rules.linkProgram(op.ref.ns, 'link', op.ref.label) ??
            rules.linkProgram(op.ref.revNs, 'link', op.ref.revLabel);
          if (linkRules) checks.push(...linkChecks(op, created, params));
          else if (created(op.ref.ns, op.source)) {
            const program = rules.program(op.ref.ns, 'create');
            if (program)
              checks.push({
                program,
                ns: op.ref.ns,
                id: op.source!,
                bindings: { data: state(op.ref.ns, op.source), ruleParams: params },
              });
          }
        }
      }
      run(checks);
    },
  };
}
