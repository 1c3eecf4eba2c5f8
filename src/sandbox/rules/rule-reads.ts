/**
 * What a compiled rule reads besides the entity it is asked about, read from cel-js's AST: the
 * `data.ref('a.b')` and `auth.ref('$user.a.b')` paths it walks and the `auth` fields it names.
 * Live queries use it to recompute a rule-filtered result only when one of those changes.
 * Anything it cannot follow (a `ref` on another receiver, a path that is not a string literal)
 * makes the answer `null`: "could read anything".
 */

/** The reads of one rule. */
export interface RuleReads {
  /** `data.ref(path)` paths, walked from the rule's own namespace. */
  readonly dataRefs: readonly string[];
  /** `auth.ref(path)` paths, walked from `$users` (the `$user.` prefix removed). */
  readonly authRefs: readonly string[];
  /** `auth.<field>` names; `*` when `auth` is used as a whole. */
  readonly authFields: readonly string[];
}

interface Node {
  readonly op: string;
  readonly args: unknown;
}

/** The reads of a parsed rule (cel-js `parse(...).ast`), or null when they cannot be told. */
export function ruleReads(ast: unknown): RuleReads | null {
  const dataRefs = new Set<string>();
  const authRefs = new Set<string>();
  const authFields = new Set<string>();
  let known = true;
  const isId = (node: unknown, name: string) => isNode(node) && node.op === 'id' && node.args === name;
  const walk = (node: unknown): void => {
    if (!known) return;
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isNode(node)) return;
    if (node.op === 'rcall') {
      const [name, receiver, args] = node.args as [string, unknown, unknown[]];
      if (name === 'ref') {
        const path = Array.isArray(args) && isNode(args[0]) && args[0].op === 'value' ? args[0].args : undefined;
        if (typeof path !== 'string' || !(isId(receiver, 'data') || isId(receiver, 'auth'))) {
          known = false;
          return;
        }
        if (isId(receiver, 'data')) dataRefs.add(path);
        else authRefs.add(path.replace(/^\$user\./, ''));
        return;
      }
      walk(receiver);
      walk(args);
      return;
    }
    if (node.op === '.' && Array.isArray(node.args) && isId(node.args[0], 'auth')) {
      authFields.add(String(node.args[1]));
      return;
    }
    if (isId(node, 'auth')) {
      authFields.add('*');
      return;
    }
    walk(node.args);
  };
  walk(ast);
  return known ? { dataRefs: [...dataRefs], authRefs: [...authRefs], authFields: [...authFields] } : null;
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as Node).op === 'string';
}
