import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCKED_PERMS, loadTemplate, templateHash } from '../../src/template/app-template.js';

const here = await mkdtemp(join(tmpdir(), 'template-test-'));
async function file(name: string, content: string): Promise<string> {
  const path = join(here, name);
  await writeFile(path, content);
  return path;
}

describe('loading a template', () => {
  it('without files: no schema and locked rules', async () => {
    const template = await loadTemplate({});
    expect(template).toEqual({ hash: templateHash(null, LOCKED_PERMS), schema: null, perms: LOCKED_PERMS });
  });

  it('reads the shipped TypeScript example pair as instant-cli would push it', async () => {
    const template = await loadTemplate({
      schema: 'templates/task-db.schema.ts',
      perms: 'templates/task-db.perms.ts',
    });
    expect(Object.keys(template.schema!['entities'] as object)).toEqual(['notes', 'attachments']);
    // The i.schema(...) object as JSON.stringify writes it: what @instantdb/platform's createApp sends.
    expect((template.schema as any).entities.notes.attrs.authorId).toMatchObject({
      valueType: 'string',
      config: { indexed: true, unique: false },
    });
    expect((template.perms as any).notes.allow.view).toBe('auth.id != null');
    expect(template.hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('reads JSON files; the hash follows the content, not the key order', async () => {
    const a = await file('a.json', JSON.stringify({ notes: { allow: { view: 'true', create: 'false' } } }));
    const b = await file('b.json', JSON.stringify({ notes: { allow: { create: 'false', view: 'true' } } }));
    const c = await file('c.json', JSON.stringify({ notes: { allow: { create: 'true', view: 'true' } } }));
    const [ta, tb, tc] = await Promise.all([a, b, c].map((perms) => loadTemplate({ perms })));
    expect(ta!.hash).toBe(tb!.hash);
    expect(ta!.hash).not.toBe(tc!.hash);
  });

  it.each([
    ['missing.json', null, 'does not exist'],
    ['bad.json', '{ "notes": ', 'is not valid JSON'],
    ['broken.ts', 'export default {{', 'could not be loaded'],
    ['none.ts', 'export const x = 1;', 'has no default export'],
    ['rules.txt', 'x', 'must be a .json file or a .ts/.js module'],
  ])('refuses %s with one line naming the file', async (name, content, problem) => {
    const path = content === null ? join(here, name) : await file(name, content);
    await expect(loadTemplate({ perms: path })).rejects.toThrow(`template ${path}: ${problem}`);
  });

  it.each([
    [{ notes: { allow: { view: true } } }, 'notes.allow.view must be a string'],
    [{ notes: { allow: { view: 'auth.id ==' } } }, 'notes.allow.view is not a valid CEL expression'],
    [{ notes: { allow: { link: { author: 1 } } } }, 'notes.allow.link.author must be a string'],
    [{ notes: { allow: { read: 'true' } } }, 'notes.allow.read is not an action'],
    [{ notes: { fields: { secret: false } } }, 'notes.fields.secret must be a string'],
    [{ notes: { bind: ['isOwner'] } }, 'notes.bind should have an even number of elements'],
    [{ notes: 'true' }, 'notes must be an object'],
    // Rules that parse but that the server would not compile: every create would fail.
    [{ notes: { allow: { view: 'auht.id != null' } } }, 'notes.allow.view does not compile: Unknown variable: auht'],
    [
      { notes: { allow: { view: 'newData.ok == true' } } },
      'notes.allow.view does not compile: Unknown variable: newData',
    ],
    [
      { notes: { bind: ['isOwner', 'auth.id == data.owner'], allow: { view: 'isOwnr', update: 'isOwner' } } },
      'notes.allow.view does not compile: Unknown variable: isOwnr',
    ],
    [
      { notes: { allow: { view: 'foo(1)', update: 'bar(1)' } } },
      "notes.allow.view does not compile: found no matching overload for 'foo(int)' (and 1 more)",
    ],
  ])('refuses rules %j', async (rules, problem) => {
    const perms = await file(`rules-${Math.random()}.json`, JSON.stringify(rules));
    await expect(loadTemplate({ perms })).rejects.toThrow(problem);
  });

  it('refuses a schema with no entities', async () => {
    const schema = await file('empty-schema.json', JSON.stringify({ entities: {}, links: {}, rooms: {} }));
    await expect(loadTemplate({ schema })).rejects.toThrow(`template ${schema}: the schema has no entities`);
  });
});
