/**
 * The sandbox's share of the server's rule-wheres (instaql.clj › get-rule-wheres): a view rule
 * that requires `auth.id in data.ref('<path>')` (a conjunct of the rule, through its binds) can
 * only pass for entities where `<path>` reaches the user's id, so a query first narrows its
 * candidates to those through the link indexes and only then runs the rule on each. The rule
 * still decides; the where only spares it the entities it would refuse. Without this, every
 * signed-in user's query evaluates the rule once per entity of the namespace.
 */

interface Node {
  readonly op: string;
  readonly args: any;
}

/** The `data.ref` paths a rule's AST requires to contain `auth.id`; empty when none is implied. */
export function ownerPaths(ast: unknown): string[] {
  return implied(ast, new Map());
}

function implied(node: unknown, binds: Map<string, unknown>): string[] {
  if (!isNode(node)) return [];
  if (node.op === '&&') return (node.args as unknown[]).flatMap((arg) => implied(arg, binds));
  if (node.op === 'id' && binds.has(node.args)) {
    const bound = binds.get(node.args);
    const inner = new Map(binds);
    inner.delete(node.args); // a bind cannot refer to itself
    return implied(bound, inner);
  }
  if (node.op === 'rcall') {
    const [name, receiver, args] = node.args as [string, unknown, unknown[]];
    // cel.bind(name, value, body): the body, with name standing for value.
    if (name === 'bind' && isNode(receiver) && receiver.op === 'id' && receiver.args === 'cel') {
      const [variable, value, body] = args as [Node, unknown, unknown];
      if (!isNode(variable) || variable.op !== 'id') return [];
      return implied(body, new Map(binds).set(variable.args, value));
    }
    return [];
  }
  if (node.op === 'in') {
    const [element, list] = node.args as [unknown, unknown];
    const authId =
      isNode(element) &&
      element.op === '.' &&
      isNode(element.args[0]) &&
      element.args[0].op === 'id' &&
      element.args[0].args === 'auth' &&
      element.args[1] === 'id';
    if (!authId || !isNode(list) || list.op !== 'rcall') return [];
    const [name, receiver, args] = list.args as [string, unknown, unknown[]];
    const path = isNode(args?.[0]) && args[0].op === 'value' ? args[0].args : undefined;
    const onData = isNode(receiver) && receiver.op === 'id' && receiver.args === 'data';
    return name === 'ref' && onData && typeof path === 'string' ? [path] : [];
  }
  return [];
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as Node).op === 'string';
}
