/**
 * The server's checks on rules (rule.clj validation-errors, cel.clj compilers), shared by the
 * sandbox and the daemon's template check: what they accept and what they refuse, where.
 */
import { describe, expect, it } from 'vitest';
import { rulesValidationErrors, withBinds } from '../../src/instant-rules.js';
import mainRules from '../../instant.perms.js';
import templateRules from '../../templates/task-db.perms.js';

const errorsOf = (rules: unknown) => rulesValidationErrors(rules).map((e) => [e.in.join('.'), e.message]);

describe('rules the server accepts are accepted', () => {
  it('the shipped rules of the main app and of the example template', () => {
    expect(rulesValidationErrors(mainRules)).toEqual([]);
    expect(rulesValidationErrors(templateRules)).toEqual([]);
  });

  it.each([
    ['auth.id != null'],
    ["auth.id in data.ref('owner.id')"],
    ["size(data.ref('members.id')) < 10"],
    ["auth.email.endsWith('@example.com') && data.title.startsWith('x')"],
    ['ruleParams.secret == data.secret'],
    ["request.modifiedFields.all(field, field in ['title', 'done'])"],
    ["request.time > timestamp('2024-01-01T00:00:00Z') && request.time.getTime() > 0"],
    ["request.origin == 'https://example.com' && request.ip != ''"],
    ["'admin' in auth.ref('$user.roles.name')"],
    ["data.title.charAt(0) == 'a' && data.title.replace('a', 'b') != '' && data.n * 2 > 3"],
    ['math.greatest(1, 2) == 2 && math.abs(data.n) < 5'],
    ['cel.bind(x, auth.id, x == data.owner)'],
    ['[1, "a"].size() == 2 && has(data.owner) && data.tags.exists(t, t == "x")'],
    [true],
    ['false'],
  ])('view: %j', (rule) => {
    expect(errorsOf({ notes: { allow: { view: rule, delete: rule } } })).toEqual([]);
  });

  it('newData in create and update, binds, field rules, $users and rate limits', () => {
    const rules = {
      $rateLimits: { createNotes: { limits: [{ capacity: 10, period: '1 hour' }] } },
      $default: { bind: ['signedIn', 'auth.id != null'] },
      $users: { allow: { view: 'auth.id == data.id', delete: 'false' } },
      notes: {
        bind: { isAuthor: 'signedIn && auth.id == data.authorId', keepsAuthor: 'newData.authorId == data.authorId' },
        allow: {
          view: 'isAuthor',
          create: 'signedIn && newData.authorId == auth.id && rateLimit.createNotes.limit(auth.id)',
          update: 'isAuthor && keepsAuthor',
          delete: "isAuthor && rateLimit['createNotes'].limit(auth.id, 2)",
          // Not compiled at push, as on the server.
          link: { author: 'linkedData.id == auth.id' },
        },
        fields: { secret: 'isAuthor' },
      },
    };
    expect(errorsOf(rules)).toEqual([]);
  });
});

describe('rules the server refuses are refused, at their path', () => {
  it.each([
    [{ notes: { allow: { view: 'auht.id == data.owner' } } }, 'notes.allow.view', /auht/],
    [{ notes: { allow: { view: 'auth.id ==' } } }, 'notes.allow.view', /./],
    [{ notes: { allow: { view: 'newData.x == 1' } } }, 'notes.allow.view', /newData/],
    [{ notes: { allow: { delete: 'linkedData.id == auth.id' } } }, 'notes.allow.delete', /linkedData/],
    [{ notes: { allow: { update: "data.reff('owner.id') == []" } } }, 'notes.allow.update', /reff/],
    [{ notes: { allow: { update: "data.ref('a', 'b') == []" } } }, 'notes.allow.update', /ref/],
    [{ notes: { allow: { create: "'a' + 1 == 'a1'" } } }, 'notes.allow.create', /overload/],
    [{ notes: { allow: { view: 'foo(1)' } } }, 'notes.allow.view', /foo/],
    [{ notes: { allow: { view: 'request.nope == 1' } } }, 'notes.allow.view', /nope/],
    [{ notes: { allow: { view: 'math.nope(1) == 1' } } }, 'notes.allow.view', /nope/],
    [
      { notes: { allow: { view: "auth.id in auth.ref('owner.id')" } } },
      'notes.allow.view',
      /auth\.ref arg must start with `\$user\.`/,
    ],
    [
      { notes: { allow: { view: 'rateLimit.nope.limit(auth.id)' } } },
      'notes.allow.view',
      /`nope` is not a valid rate limit config/,
    ],
    [{ notes: { fields: { secret: 'auth.id == newData.x' } } }, 'notes.fields.secret', /newData/],
    [{ notes: { fields: { id: 'true' } } }, 'notes.fields', /field rules for `id`/],
    [{ notes: { allow: { view: 3 } } }, 'notes.allow.view', /unexpected error/],
    [{ $users: { allow: { delete: 'true' } } }, '$users.allow.delete', /doesn't support permissions for delete/],
    [{ $nope: { allow: { view: 'true' } } }, '$nope.allow.view', /reserved internal namespace/],
    [{ $rateLimits: 'x' }, '$rateLimits', /must be an object/],
    [{ notes: { bind: ['a'], allow: {} } }, 'notes.bind', /even number/],
    [{ notes: { bind: ['a', 'true', 'a', 'false'] } }, 'notes.bind.a', /only contain a given variable name once/],
  ])('%j', (rules, path, message) => {
    const errors = errorsOf(rules);
    expect(errors.map(([where]) => where)).toContain(path);
    expect(errors.find(([where]) => where === path)![1]).toMatch(message);
  });

  it("a bind is compiled with the rule that uses it, by that rule's action", () => {
    const rules = {
      notes: { bind: ['changed', 'newData.x != data.x'], allow: { update: 'changed', view: 'changed' } },
    };
    expect(errorsOf(rules)).toEqual([['notes.allow.view', expect.stringMatching(/newData/)]]);
    // A bind no rule uses is not compiled (as on the server).
    expect(errorsOf({ notes: { bind: ['unused', 'nope.x'], allow: { view: 'true' } } })).toEqual([]);
    const typo = { notes: { bind: ['isOwner', 'auht.id == data.owner'], allow: { view: 'isOwner' } } };
    expect(errorsOf(typo)).toEqual([['notes.allow.view', expect.stringMatching(/auht/)]]);
  });

  it('binds in a cycle are refused with the cycle', () => {
    const rules = { notes: { bind: ['a', 'b && true', 'b', 'a || false'], allow: { view: 'a' } } };
    expect(errorsOf(rules)).toEqual([['notes.allow.view', 'The binds have a cyclic dependency a -> b -> a']]);
  });
});

describe('withBinds', () => {
  it('wraps the binds a rule uses, dependencies outermost; the namespace wins over $default', () => {
    const rules = {
      $default: { bind: ['signedIn', 'auth.id != null', 'isOwner', 'false'] },
      notes: { bind: ['isOwner', 'signedIn && auth.id == data.owner', 'unused', 'true'] },
    };
    expect(withBinds(rules, 'notes', 'isOwner')).toBe(
      'cel.bind(signedIn, auth.id != null, cel.bind(isOwner, signedIn && auth.id == data.owner, isOwner))',
    );
    expect(withBinds(rules, 'notes', 'true')).toBe('true');
  });
});
