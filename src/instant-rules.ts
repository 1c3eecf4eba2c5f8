/**
 * The checks an Instant server runs on an app's rules before it stores them (a create with
 * `perms`, a perms push): server/src/instant/model/rule.clj `validation-errors`, with each rule
 * compiled as db/cel.clj compiles it. Shared by the sandbox (which answers 400
 * `validation-failed` with these entries) and the daemon (which refuses a bad `--template-perms`
 * at start), so both refuse what the server refuses.
 *
 * What is checked, as on the server:
 * - `bind`: an even number of elements, each name once;
 * - `<etype>.allow.view|create|update|delete` and every `<etype>.fields.<field>` (as a view rule):
 *   the rule, wrapped in the binds it uses, compiles with the variables its action declares
 *   (view/delete: auth, data, ruleParams, request, rateLimit; create/update: also newData);
 *   unknown variables, unknown functions, wrong argument counts and type errors are refused;
 *   `auth.ref` takes a literal `$user.` path; `rateLimit.<name>` must be a `$rateLimits` key;
 * - no field rule for `id`; `$users.allow.delete` only `"false"`; no rules on other reserved
 *   `$` namespaces; `$rateLimits` an object.
 * As on the server, `allow.link`, `allow.unlink` and `allow.$default` are not compiled at push.
 *
 * The compiler is @marcbachmann/cel-js's type checker (an Environment with the server's variables
 * and functions declared), so messages are cel-js's, not CEL-Java's. Where the server's CEL has
 * functions cel-js lacks (parts of the strings and math extensions, `getTime`), they are declared
 * for checking only, so a rule the server accepts is never refused here.
 */
import { Environment, type ASTNode } from '@marcbachmann/cel-js';

/** One reason rules are refused, in the server's shape: `in` is the path to the rule. */
export type RuleIssue = {
  message: string;
  in: string[];
};

/** A rule whose binds cannot be put together (an odd bind list, a cycle). */
export class RuleBindError extends Error {
  override readonly name = 'RuleBindError';
}

type CheckedAction = 'view' | 'create' | 'update' | 'delete';
const ACTIONS: readonly CheckedAction[] = ['view', 'create', 'update', 'delete'];
const RULED_SYSTEM_NAMESPACES = new Set(['$users', '$files', '$default', '$streams', '$rateLimits']);

/** The server's validation errors for `rules`; empty when they may be stored. */
export function rulesValidationErrors(rules: unknown): RuleIssue[] {
  if (!isObject(rules)) return [{ message: 'rules must be an object', in: [] }];
  const errors: RuleIssue[] = [];
  const rateLimits = isObject(rules['$rateLimits']) ? new Set(Object.keys(rules['$rateLimits'])) : new Set<string>();
  for (const [etype, block] of Object.entries(rules)) {
    if (etype === '$rateLimits') {
      if (!isObject(block)) errors.push({ message: '$rateLimits must be an object', in: ['$rateLimits'] });
      continue;
    }
    const def = isObject(block) ? block : {};
    errors.push(...bindErrors(etype, def['bind']));
    for (const action of ACTIONS) {
      const path = [etype, 'allow', action];
      if (etype === '$users' && action === 'delete') {
        const rule = getIn(rules, path);
        if (rule !== undefined && rule !== null && rule !== 'false')
          errors.push({
            message:
              'The $users namespace doesn\'t support permissions for delete. Set `$users.allow.delete` to `"false"`.',
            in: path,
          });
        continue;
      }
      if (etype.startsWith('$') && !RULED_SYSTEM_NAMESPACES.has(etype)) {
        errors.push({
          message: `The ${etype} namespace is a reserved internal namespace that does not yet support rules.`,
          in: path,
        });
        continue;
      }
      errors.push(...ruleErrors(rules, etype, action, path, rateLimits));
    }
    const fields = isObject(def['fields']) ? def['fields'] : {};
    for (const field of Object.keys(fields)) {
      if (field === 'id') {
        errors.push({
          message: `You cannot set field rules for \`id\`. Use ${etype} -> allow -> view instead`,
          in: [etype, 'fields'],
        });
      } else errors.push(...ruleErrors(rules, etype, 'view', [etype, 'fields', field], rateLimits));
    }
  }
  return errors;
}

/**
 * rule.clj `with-binds`: `expr` wrapped in the binds of `etype` and `$default` it uses
 * (transitively) as nested `cel.bind(...)`, dependencies outermost; `etype`'s bind wins over a
 * `$default` one of the same name.
 *
 * @throws RuleBindError for an odd bind list or binds that depend on each other in a cycle.
 */
export function withBinds(rules: Record<string, unknown>, etype: string, expr: string): string {
  const flat = [...flatBind(getIn(rules, ['$default', 'bind'])), ...flatBind(getIn(rules, [etype, 'bind']))];
  if (flat.length % 2 !== 0) throw new RuleBindError('bind should have an even number of elements');
  if (flat.length === 0) return expr;
  const binds = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) binds.set(String(flat[i]), String(flat[i + 1]));
  const ordered: string[] = [];
  const visiting: string[] = [];
  const visit = (name: string) => {
    if (ordered.includes(name)) return;
    if (visiting.includes(name))
      throw new RuleBindError(`The binds have a cyclic dependency ${[...visiting, name].join(' -> ')}`);
    visiting.push(name);
    for (const used of identifiers(binds.get(name)!)) if (binds.has(used)) visit(used);
    visiting.pop();
    ordered.push(name);
  };
  for (const used of identifiers(expr)) if (binds.has(used)) visit(used);
  return ordered.reduceRight((body, name) => `cel.bind(${name}, ${binds.get(name)}, ${body})`, expr);
}

function bindErrors(etype: string, bind: unknown): RuleIssue[] {
  if (bind === undefined || bind === null) return [];
  const flat = flatBind(bind);
  if (flat.length % 2 !== 0) return [{ message: 'bind should have an even number of elements', in: [etype, 'bind'] }];
  const seen = new Set<unknown>();
  for (let i = 0; i < flat.length; i += 2) {
    if (seen.has(flat[i])) {
      return [{ message: 'bind should only contain a given variable name once', in: [etype, 'bind', String(flat[i])] }];
    }
    seen.add(flat[i]);
  }
  return [];
}

/** rule.clj `expr-validation-errors`: one rule, with its binds, through its action's compiler. */
function ruleErrors(
  rules: Record<string, unknown>,
  etype: string,
  action: CheckedAction,
  path: string[],
  rateLimits: ReadonlySet<string>,
): RuleIssue[] {
  const rule = getIn(rules, path);
  if (rule === undefined || rule === null) return [];
  // The server reads a boolean rule as its text; anything else is not a rule.
  if (typeof rule !== 'string' && typeof rule !== 'boolean')
    return [{ message: 'There was an unexpected error evaluating the rules', in: path }];
  let code: string;
  try {
    code = withBinds(rules, etype, String(rule));
  } catch (error) {
    if (error instanceof RuleBindError) return [{ message: error.message, in: path }];
    throw error;
  }
  const checked = environmentFor(action).check(code);
  if (!checked.valid) return [{ message: firstLine(checked.error), in: path }];
  return astIssues(environmentFor(action).parse(code).ast, rateLimits).map((message) => ({ message, in: path }));
}

/** cel.clj's AST validators: `auth.ref` takes a literal `$user.` path; `rateLimit.<name>` names a `$rateLimits` key. */
function astIssues(ast: ASTNode, rateLimits: ReadonlySet<string>): string[] {
  const issues: string[] = [];
  walk(ast, (node) => {
    if (node.op !== 'rcall') return;
    const [fn, target, args] = node.args as [string, ASTNode, ASTNode[]];
    if (fn === 'ref' && isIdent(target, 'auth')) {
      const arg = args[0];
      const path = args.length === 1 && arg?.op === 'value' ? arg.args : undefined;
      if (typeof path !== 'string' || !path.startsWith('$user.')) issues.push('auth.ref arg must start with `$user.`');
    }
    const bucket = rateLimitName(target);
    if (bucket !== undefined && !rateLimits.has(bucket))
      issues.push(`\`${bucket}\` is not a valid rate limit config. It should be defined in the \`$rateLimits\` key.`);
  });
  return issues;
}

/** `rateLimit.name` or `rateLimit['name']` as a call's target: the name. */
function rateLimitName(target: ASTNode): string | undefined {
  const [operand, key] = target.args as [ASTNode, unknown];
  if (!isIdent(operand, 'rateLimit')) return undefined;
  if (target.op === '.' && typeof key === 'string') return key;
  if (target.op === '[]' && (key as ASTNode)?.op === 'value' && typeof (key as ASTNode).args === 'string')
    return (key as ASTNode).args as string;
  return undefined;
}

const environments = new Map<CheckedAction, Environment>();

/** cel.clj `action->compiler`: view/delete see auth, data, ruleParams, request, rateLimit; create/update also newData. */
function environmentFor(action: CheckedAction): Environment {
  let env = environments.get(action);
  if (!env) {
    env = baseEnvironment().clone();
    if (action === 'create' || action === 'update') env.registerVariable('newData', 'map<string, dyn>');
    environments.set(action, env);
  }
  return env;
}

let base: Environment | undefined;

function baseEnvironment(): Environment {
  if (base) return base;
  const env = new Environment({ homogeneousAggregateLiterals: false });
  const none = () => null;
  for (const name of ['auth', 'data', 'ruleParams']) env.registerVariable(name, 'map<string, dyn>');
  env.registerType({
    name: 'request',
    schema: { modifiedFields: 'list<string>', time: 'google.protobuf.Timestamp', ip: 'string', origin: 'string' },
  });
  env.registerVariable('request', 'request');
  env.registerType({ name: 'RateLimitBucket', schema: {} });
  env.registerVariable('rateLimit', 'map<string, RateLimitBucket>');
  env.registerFunction('RateLimitBucket.limit(dyn): bool', none);
  env.registerFunction('RateLimitBucket.limit(dyn, int): bool', none);
  env.registerFunction({
    name: 'ref',
    receiverType: 'map',
    returnType: 'list',
    params: [{ name: 'path', type: 'string' }],
    handler: none,
  });
  env.registerFunction('google.protobuf.Timestamp.getTime(): int', none);
  // The strings extension (CelExtensions.strings) beyond what cel-js has built in.
  for (const signature of [
    'string.charAt(int): string',
    'string.replace(string, string): string',
    'string.replace(string, string, int): string',
    'string.reverse(): string',
    'string.format(list): string',
  ])
    env.registerFunction(signature, none);
  env.registerType({ name: 'StringsExtension', schema: {} });
  env.registerVariable('strings', 'StringsExtension');
  env.registerFunction('StringsExtension.quote(string): string', none);
  // The math extension (CelExtensions.math): `math.<fn>(...)`, loosely typed so no valid use is refused.
  env.registerType({ name: 'MathExtension', schema: {} });
  env.registerVariable('math', 'MathExtension');
  for (const fn of ['greatest', 'least'])
    for (let arity = 1; arity <= 6; arity++)
      env.registerFunction(`MathExtension.${fn}(${Array(arity).fill('dyn').join(', ')}): dyn`, none);
  for (const fn of ['ceil', 'floor', 'round', 'trunc', 'abs', 'sign', 'sqrt', 'bitNot'])
    env.registerFunction(`MathExtension.${fn}(dyn): dyn`, none);
  for (const fn of ['isInf', 'isNaN', 'isFinite']) env.registerFunction(`MathExtension.${fn}(dyn): bool`, none);
  for (const fn of ['bitAnd', 'bitOr', 'bitXor', 'bitShiftLeft', 'bitShiftRight'])
    env.registerFunction(`MathExtension.${fn}(dyn, dyn): dyn`, none);
  base = env;
  return env;
}

/** Identifiers an expression names, read from cel-js's own AST (cel.clj `ident-usages`); none when it does not parse. */
function identifiers(expr: string): Set<string> {
  const found = new Set<string>();
  let ast: ASTNode;
  try {
    ast = new Environment({ unlistedVariablesAreDyn: true }).parse(expr).ast;
  } catch {
    return found;
  }
  walk(ast, (node) => {
    if (node.op === 'id' && typeof node.args === 'string') found.add(node.args);
  });
  return found;
}

function walk(node: unknown, visit: (node: ASTNode) => void): void {
  if (Array.isArray(node)) return node.forEach((child) => walk(child, visit));
  if (typeof node !== 'object' || node === null || !('op' in node)) return;
  visit(node as ASTNode);
  walk((node as ASTNode).args, visit);
}

function isIdent(node: unknown, name: string): boolean {
  return (node as ASTNode | undefined)?.op === 'id' && (node as ASTNode).args === name;
}

function flatBind(bind: unknown): unknown[] {
  if (Array.isArray(bind)) return bind;
  if (isObject(bind)) return Object.entries(bind).flat();
  return bind === undefined || bind === null ? [] : [bind];
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

function getIn(value: unknown, path: readonly string[]): unknown {
  let at = value;
  for (const key of path) {
    if (!isObject(at)) return undefined;
    at = at[key];
  }
  return at;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
