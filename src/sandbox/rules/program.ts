/**
 * An app's permission rules as the server looks them up and compiles them
 * (server/src/instant/model/rule.clj): a rule is found by a list of paths tried in order, its
 * `bind`s are wrapped around it as nested `cel.bind(...)` calls (only the ones it uses,
 * dependencies outermost), and the result is a CEL program run by @marcbachmann/cel-js.
 *
 * Rules are validated when stored (src/instant-rules.ts, as the server does at push); here every
 * rule may name every variable (a missing one is an empty map). Not reproduced:
 * `request.origin`/`request.ip`, `rateLimit`, and the `where-clauses` optimisation (the sandbox
 * checks every entity one by one).
 */
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { RuleBindError, withBinds } from '../../instant-rules.js';
import { permissionEvaluationFailed, validationFailed, type Json } from '../errors.js';
import { ruleReads, type RuleReads } from './rule-reads.js';
import { ownerPaths } from './rule-wheres.js';

/** The actions a rule can be written for. */
export type RuleAction = 'view' | 'create' | 'update' | 'delete' | 'link' | 'unlink';

/** What a rule sees; absent variables are empty maps. */
export interface RuleBindings {
  readonly auth: RuleValue;
  readonly data: RuleValue;
  readonly newData?: RuleValue;
  readonly linkedData?: RuleValue;
  readonly ruleParams?: RuleValue;
  readonly actions?: RuleValue;
  readonly request?: RuleValue;
}

/** A value converted for CEL (see `toRuleValue`). */
export type RuleValue = unknown;

/** Resolves `x.ref(path)` for a map that stands for an entity (or for `auth`). */
export type RefResolver = (map: Map<string, unknown>, path: string) => unknown[];

/** One compiled rule. */
export interface RuleProgram {
  readonly etype: string;
  readonly action: RuleAction;
  /** The rule as written (before binds), for messages. */
  readonly code: string;
  /** What it reads besides its entity (binds included); null when that cannot be told. */
  readonly reads: RuleReads | null;
  /** `data.ref` paths the rule requires to contain `auth.id` (see rule-wheres.ts). */
  readonly ownerPaths: readonly string[];
  /** Runs the rule; true when it passes. Throws permission-evaluation-failed when it cannot run. */
  passes(bindings: RuleBindings, refs: RefResolver): boolean;
}

const VARIABLES = ['auth', 'data', 'newData', 'linkedData', 'ruleParams', 'actions', 'request'] as const;

/** The default rules of system namespaces, used when the app's rules say nothing (rule.clj › fallback-program). */
function fallbackCode(etype: string, action: RuleAction): string | undefined {
  if (!etype.startsWith('$')) return undefined;
  if (etype === '$users' && action === 'create') return 'true';
  if (etype === '$users' && (action === 'view' || action === 'update')) {
    return 'auth.id == data.id || (data.linkedPrimaryUser != null && auth.id == data.linkedPrimaryUser)';
  }
  return 'false';
}

/** The `ref` call in progress: cel-js handlers get no context, so the resolver is set per run. */
let activeRefs: RefResolver | null = null;

const environment = (() => {
  const env = new Environment({ homogeneousAggregateLiterals: false });
  for (const name of VARIABLES) env.registerVariable(name, 'map');
  env.registerFunction({
    name: 'ref',
    receiverType: 'map',
    returnType: 'list',
    params: [{ name: 'path', type: 'string' }],
    handler: (map: Map<string, unknown>, path: string) => {
      if (!activeRefs) throw new Error('ref() outside a rule evaluation');
      return activeRefs(map, path);
    },
  });
  return env;
})();

/** A rule set's compiled programs, looked up and compiled once per (paths) key. */
export class RuleSet {
  private readonly programs = new Map<string, RuleProgram | null>();

  constructor(private readonly code: Record<string, unknown>) {}

  /** `view`/`create`/`update`/`delete`: etype's rule, etype's `$default`, then the global `$default`s. */
  program(etype: string, action: Exclude<RuleAction, 'link' | 'unlink'>): RuleProgram | null {
    return this.find(`p\u0000${etype}\u0000${action}`, etype, action, true, () => [
      [etype, 'allow', action],
      [etype, 'allow', '$default'],
      ['$default', 'allow', action],
      ['$default', 'allow', '$default'],
    ]);
  }

  /** `allow.link.<label>` / `allow.unlink.<label>`, then that map's `$default`; no other fallback. */
  linkProgram(etype: string, action: 'link' | 'unlink', label: string): RuleProgram | null {
    return this.find(`l\u0000${etype}\u0000${action}\u0000${label}`, etype, action, false, () => [
      [etype, 'allow', action, label],
      [etype, 'allow', action, '$default'],
    ]);
  }

  /** `fields.<field>`: a view rule for one attribute. */
  fieldProgram(etype: string, field: string): RuleProgram | null {
    return this.find(`f\u0000${etype}\u0000${field}`, etype, 'view', false, () => [[etype, 'fields', field]]);
  }

  /** `$users.allow.create` alone: the sign-up check (app_user.clj › assert-create-permission!). */
  signupProgram(): RuleProgram | null {
    return this.find('signup', '$users', 'create', false, () => [['$users', 'allow', 'create']]);
  }

  /** `attrs.allow.create` alone (the server looks it up with the standard paths; see transact-check). */
  attrsProgram(): RuleProgram | null {
    return this.find('attrs', 'attrs', 'create', false, () => [['attrs', 'allow', 'create']]);
  }

  /** The program cached under `key` (cheap to build: rules are asked once per entity and field). */
  private find(
    key: string,
    etype: string,
    action: RuleAction,
    fallback: boolean,
    pathsOf: () => string[][],
  ): RuleProgram | null {
    if (this.programs.has(key)) return this.programs.get(key)!;
    const paths = pathsOf();
    let program: RuleProgram | null = null;
    for (const path of paths) {
      const expr = getIn(this.code, path);
      if (expr === undefined || expr === null) continue;
      program = this.compile(etype, action, path, typeof expr === 'boolean' ? String(expr) : String(expr));
      break;
    }
    if (!program && fallback) {
      const code = fallbackCode(etype, action);
      if (code !== undefined) program = this.compile(etype, action, [etype, 'fallback', action], code);
    }
    this.programs.set(key, program);
    return program;
  }

  private compile(etype: string, action: RuleAction, path: string[], expr: string): RuleProgram {
    let parsed: ParseResult;
    try {
      parsed = environment.parse(withBinds(this.code, etype, expr));
    } catch (error) {
      const where = error instanceof RuleBindError ? [etype, 'bind'] : path;
      throw validationFailed('permission', where, [{ message: (error as Error).message }]);
    }
    return {
      etype,
      action,
      code: expr,
      reads: ruleReads((parsed as unknown as { ast?: unknown }).ast),
      ownerPaths: ownerPaths((parsed as unknown as { ast?: unknown }).ast),
      passes(bindings, refs) {
        const context: Record<string, unknown> = {};
        for (const name of VARIABLES) context[name] = bindings[name] ?? toRuleValue({});
        activeRefs = refs;
        let result: unknown;
        try {
          result = parsed(context);
        } catch (error) {
          throw permissionEvaluationFailed(etype, action, celErrorType(error));
        } finally {
          activeRefs = null;
        }
        // Clojure truthiness: anything but false and null passes.
        return result !== false && result !== null && result !== undefined;
      },
    };
  }
}

/** Rule sets by the perms object they came from (an app's perms are replaced, never edited). */
const ruleSets = new WeakMap<object, RuleSet>();
const EMPTY_RULES = new RuleSet({});

/** The compiled rules of an app's stored perms (null: no rules, everything allowed). */
export function rulesFor(perms: Json): RuleSet {
  if (typeof perms !== 'object' || perms === null || Array.isArray(perms)) return EMPTY_RULES;
  let set = ruleSets.get(perms);
  if (!set) {
    set = new RuleSet(perms);
    ruleSets.set(perms, set);
  }
  return set;
}

/**
 * Converts JSON for CEL the way the server's CelMap does: maps answer null for a missing key
 * (plain CEL would throw "No such key"), nested maps and lists alike.
 */
export function toRuleValue(value: unknown): RuleValue {
  if (Array.isArray(value)) return value.map(toRuleValue);
  if (typeof value === 'object' && value !== null && !(value instanceof Map)) {
    const map = new Map<string, unknown>();
    for (const [k, v] of Object.entries(value)) if (v !== undefined) map.set(k, toRuleValue(v));
    // An own `get` keeps the constructor Map (cel-js dispatches on it) while never missing a key.
    map.get = (key: string) => (Map.prototype.has.call(map, key) ? Map.prototype.get.call(map, key) : null);
    return map;
  }
  return value === undefined ? null : value;
}

function getIn(code: Record<string, unknown>, path: string[]): unknown {
  let at: unknown = code;
  for (const key of path) {
    if (typeof at !== 'object' || at === null || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

function celErrorType(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code.toUpperCase() : 'INTERNAL_ERROR';
}
