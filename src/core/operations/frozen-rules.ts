/**
 * "Frozen" rules: what `migrate` puts on a source app while its data is copied, so that no client
 * (browser or `asUser`) can write to it meanwhile. Reads are untouched: every `view`, `fields`,
 * `bind` and `$default` of the app's own rules stays. Every create, update and delete is `false`
 * (on each namespace the rules name, and on `$default` for the others), every `link` and `unlink`
 * rule is `false` with a `$default` of `false` (a link is checked only against link rules once a
 * side has one), and `attrs.allow.create` is `false`. Admin-token requests bypass rules, so they are
 * not stopped (see the README).
 *
 * The rules carry the app's own rules under one extra top-level key, so the app itself remembers
 * what to go back to: a migrate killed while an app was frozen is thawed by the next run, whatever
 * happened to the record or the target meanwhile. The server keeps unknown top-level keys (it reads
 * them as a namespace with no `allow`, which changes nothing) and never shows rules to clients.
 */

/** The key the original rules travel under. Not `$`-prefixed: the server refuses unknown system namespaces. */
export const FROZEN_KEY = 'instantProvisionerMigrate';

type Rules = Record<string, unknown>;

/** What the frozen rules remember. */
export interface FrozenMark {
  /** The app's own rules (null: it had none). */
  rules: Rules | null;
  /** Where it is being moved (a normalized API URI). */
  target: string;
  /** ISO-8601. */
  frozenAt: string;
}

const WRITES = ['create', 'update', 'delete'] as const;
const LINKS = ['link', 'unlink'] as const;

/** `original` with every write denied and views kept, remembering `original` (see above). */
export function freezeRules(original: Rules | null, mark: Omit<FrozenMark, 'rules'>): Rules {
  const frozen: Rules = {};
  for (const [namespace, block] of Object.entries(original ?? {})) {
    if (namespace === FROZEN_KEY) continue;
    frozen[namespace] = namespace === '$rateLimits' || namespace === 'attrs' ? block : freezeBlock(namespace, block);
  }
  frozen['$default'] = freezeBlock('$default', original?.['$default']);
  const attrs = isObject(frozen['attrs']) ? frozen['attrs'] : {};
  frozen['attrs'] = { ...attrs, allow: { ...(isObject(attrs['allow']) ? attrs['allow'] : {}), create: 'false' } };
  const remembered: FrozenMark = { rules: original, ...mark };
  frozen[FROZEN_KEY] = remembered;
  return frozen;
}

/** The mark of rules `freezeRules` made, or null when `rules` are not frozen by a migrate. */
export function frozenMark(rules: Rules | null): FrozenMark | null {
  const mark = rules?.[FROZEN_KEY];
  if (!isObject(mark) || !('rules' in mark)) return null;
  const kept = mark['rules'];
  return {
    rules: isObject(kept) ? kept : null,
    target: typeof mark['target'] === 'string' ? mark['target'] : '',
    frozenAt: typeof mark['frozenAt'] === 'string' ? mark['frozenAt'] : '',
  };
}

/**
 * The rules to push to go back from frozen to the app's own. The server stores no "no rules"
 * through a push (it requires a `code`), so an app that had none gets `{}`, which allows exactly
 * what no rules allow.
 */
export function thawedRules(mark: FrozenMark): Rules {
  return mark.rules ?? {};
}

function freezeBlock(namespace: string, block: unknown): Rules {
  const def = isObject(block) ? block : {};
  const allow: Rules = { ...(isObject(def['allow']) ? def['allow'] : {}) };
  for (const action of WRITES) allow[action] = 'false';
  if (namespace !== '$default') {
    for (const action of LINKS) {
      const labels = isObject(allow[action]) ? Object.keys(allow[action]) : [];
      allow[action] = Object.fromEntries([...labels, '$default'].map((label) => [label, 'false']));
    }
  }
  return { ...def, allow };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
