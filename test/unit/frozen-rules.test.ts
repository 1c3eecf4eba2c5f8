/** The rules `migrate` freezes a source app with: writes denied, reads as they were, the app's own rules remembered. */
import { describe, expect, it } from 'vitest';
import perms from '../../instant.perms.js';
import { FROZEN_KEY, freezeRules, frozenMark, thawedRules } from '../../src/core/operations/frozen-rules.js';
import { rulesValidationErrors } from '../../src/instant-rules.js';

const mark = { target: 'https://instant.example.com', frozenAt: '2026-12-05T10:00:00.000Z' };

describe('freezeRules', () => {
  it('denies every write of every namespace, keeps every read, and remembers the rules', () => {
    const original = structuredClone(perms) as unknown as Record<string, unknown>;
    const frozen = freezeRules(original, mark);
    const tasks = frozen['tasks'] as { bind: unknown; allow: Record<string, unknown> };
    expect(tasks.bind).toEqual((perms.tasks as { bind: unknown }).bind);
    expect(tasks.allow).toEqual({
      view: 'isOwner',
      create: 'false',
      update: 'false',
      delete: 'false',
      link: { owner: 'false', forkedFrom: 'false', iterations: 'false', $default: 'false' },
      unlink: { $default: 'false' },
    });
    const databases = frozen['databases'] as { allow: Record<string, unknown>; fields: unknown };
    expect(databases.allow['view']).toBe(perms.databases.allow.view);
    expect(databases.fields).toEqual(perms.databases.fields);
    // `$default` keeps its own `$default` (views of namespaces the rules do not name) under explicit write denials.
    expect(frozen['$default']).toEqual({
      allow: { $default: 'false', create: 'false', update: 'false', delete: 'false' },
    });
    expect(frozen['attrs']).toEqual({ allow: { create: 'false' } });
    expect(frozen[FROZEN_KEY]).toEqual({ rules: original, ...mark });
    // The input is left as it was.
    expect(original).toEqual(structuredClone(perms));
  });

  it('freezes an app with no rules: namespaces it never named are covered by $default', () => {
    const frozen = freezeRules(null, mark);
    expect(frozen).toEqual({
      $default: { allow: { create: 'false', update: 'false', delete: 'false' } },
      attrs: { allow: { create: 'false' } },
      [FROZEN_KEY]: { rules: null, ...mark },
    });
  });

  it('passes the server-side validation the real server applies to a rules push', () => {
    const withSystem = {
      ...(structuredClone(perms) as unknown as Record<string, unknown>),
      $users: { allow: { view: 'auth.id == data.id', delete: 'false' } },
      $files: { allow: { view: 'true', create: 'true' } },
      $rateLimits: { burst: { limits: [{ capacity: 10, refill: { amount: 10, period: '1 minute' } }] } },
    };
    expect(rulesValidationErrors(withSystem)).toEqual([]);
    expect(rulesValidationErrors(freezeRules(withSystem, mark))).toEqual([]);
    expect(freezeRules(withSystem, mark)['$rateLimits'] as unknown).toEqual(withSystem.$rateLimits);
  });

  it('freezing what a frozen app remembers keeps the original rules, never frozen ones', () => {
    const original = { notes: { allow: { view: 'true', create: 'true' } } };
    const again = freezeRules(frozenMark(freezeRules(original, mark))!.rules, mark);
    expect(frozenMark(again)!.rules).toEqual(original);
  });
});

describe('frozenMark and thawedRules', () => {
  it('reads the remembered rules back; rules that are not frozen have no mark', () => {
    const original = { notes: { allow: { view: 'true' } } };
    expect(frozenMark(freezeRules(original, mark))).toEqual({ rules: original, ...mark });
    expect(frozenMark(original)).toBeNull();
    expect(frozenMark(null)).toBeNull();
    expect(thawedRules({ rules: original, ...mark })).toEqual(original);
    // No rules before: `{}` allows exactly what no rules allow (a push needs some code).
    expect(thawedRules({ rules: null, ...mark })).toEqual({});
  });
});
