/**
 * The copy engine against the sandbox, read back with the real admin SDK: app → app, app →
 * archive → app, a copy killed halfway and run again, archives cut short or altered, a schemaless
 * app, transient failures, a rejected token.
 */
import { i, id, init } from '@instantdb/admin';
import { mkdtemp, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError } from '../../src/clock.js';
import {
  AppClient,
  AppSink,
  AppSource,
  ArchiveSink,
  ArchiveSource,
  copy,
  type CopyCheckpoint,
} from '../../src/copy/index.js';
import { CopyError } from '../../src/errors.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';

const schema = i.schema({
  entities: {
    $users: i.entity({ email: i.string().unique().indexed().optional() }),
    authors: i.entity({ handle: i.string().unique().indexed(), bio: i.string().optional() }),
    posts: i.entity({
      title: i.string(),
      views: i.number().indexed(),
      meta: i.json().optional(),
      publishedAt: i.date().optional(),
    }),
    tags: i.entity({ label: i.string().unique().indexed() }),
    drafts: i.entity({ text: i.string() }),
  },
  links: {
    postAuthor: {
      forward: { on: 'posts', has: 'one', label: 'author', required: true },
      reverse: { on: 'authors', has: 'many', label: 'posts' },
    },
    postTags: {
      forward: { on: 'posts', has: 'many', label: 'tags' },
      reverse: { on: 'tags', has: 'many', label: 'posts' },
    },
    authorUser: {
      forward: { on: 'authors', has: 'one', label: 'user' },
      reverse: { on: '$users', has: 'one', label: 'author' },
    },
  },
  rooms: {},
});
type Db = ReturnType<typeof init<typeof schema>>;
const PERMS = { posts: { allow: { view: 'true', create: 'false' } } };
const TAGS = 10_000;

let sandbox: Sandbox | undefined;
const clients: AppClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await sandbox?.close();
  sandbox = undefined;
});

function clientFor(app: { id: string; adminToken: string }): AppClient {
  const client = new AppClient({ apiUri: sandbox!.url, appId: app.id, adminToken: app.adminToken });
  clients.push(client);
  return client;
}

function dbFor(app: { id: string; adminToken: string }): Db {
  return init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox!.url, schema });
}

/** A source app: 3 users, 20 authors (3 linked to a user), 200 posts, 10,000 tags, one post linked to all of them. */
async function sourceApp() {
  sandbox = await startSandbox({ seed: 19 });
  const app = sandbox.createApp({ title: 'source', schema, perms: PERMS });
  const db = dbFor(app);
  const users: string[] = [];
  for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) {
    await db.auth.createToken({ email });
    users.push((await db.query({ $users: { $: { where: { email } } } })).$users[0]!.id);
  }
  const tagIds = Array.from({ length: TAGS }, () => id());
  for (let n = 0; n < TAGS; n += 1_000)
    await db.transact(tagIds.slice(n, n + 1_000).map((tag, k) => db.tx.tags[tag]!.update({ label: `tag-${n + k}` })));
  const authorIds = Array.from({ length: 20 }, () => id());
  await db.transact(
    authorIds.map((author, n) => {
      const step = db.tx.authors[author]!.update({ handle: `author-${n}`, ...(n % 2 ? { bio: `bio ${n}` } : {}) });
      return n < 3 ? step.link({ user: users[n]! }) : step;
    }),
  );
  const postIds = Array.from({ length: 200 }, () => id());
  await db.transact(
    postIds.map((post, n) =>
      db.tx.posts[post]!.update({
        title: `post ${n}`,
        views: n,
        ...(n % 3 === 0 ? { meta: { n, nested: { list: [n, 'x'] } } } : {}),
        ...(n % 5 === 0 ? { publishedAt: new Date(Date.UTC(2026, 0, 1 + (n % 28))).toISOString() } : {}),
      })
        .link({ author: authorIds[n % 20]! })
        .link({ tags: [tagIds[n]!, tagIds[n + 1]!] }),
    ),
  );
  await db.transact(db.tx.posts[postIds[0]!]!.link({ tags: tagIds }));
  return { app, db };
}

/** Everything an app holds, as the SDK reads it, in a form two apps can be compared by. */
async function contents(db: Db) {
  const result = await db.query({
    $users: { author: {} },
    authors: { posts: {}, user: {} },
    posts: { author: {}, tags: {} },
    tags: { posts: {} },
    drafts: {},
  });
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
  const normal = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(normal).sort(byId as never);
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normal(v)]));
    return value;
  };
  return normal(result) as typeof result;
}

async function copyApp(from: { id: string; adminToken: string }, to: { id: string; adminToken: string }) {
  return copy(new AppSource(clientFor(from)), new AppSink(clientFor(to)));
}

describe('copy engine against the sandbox', () => {
  it('copies an app into a fresh app: the real SDK reads the same data, schema, rules and constraints', async () => {
    const { app, db } = await sourceApp();
    const target = sandbox!.createApp({ title: 'target' });
    const result = await copyApp(app, target);

    expect(result.verified).toBe(true);
    expect(result.namespaces).toMatchObject({
      $users: { count: 3 },
      authors: { count: 20 },
      posts: { count: 200 },
      tags: { count: TAGS },
      drafts: { count: 0 },
    });
    const copied = dbFor(target);
    const [before, after] = [await contents(db), await contents(copied)];
    expect(after).toEqual(before);
    expect(after.posts.find((post) => post.title === 'post 0')!.tags).toHaveLength(TAGS);
    expect(after.authors.filter((author) => author.user !== null)).toHaveLength(3);

    const perms = await fetch(`${sandbox!.url}/superadmin/apps/${target.id}/perms`, {
      headers: { authorization: `Bearer ${target.adminToken}` },
    });
    expect(await perms.json()).toEqual({ perms: PERMS });
    // The copy enforces what the source did: unique attributes and has-one reverse links.
    await expect(copied.transact(copied.tx.tags[id()]!.update({ label: 'tag-7' }))).rejects.toThrow(/unique attribute/);
    const author = after.authors.find((a) => a.user !== null)!;
    const other = after.authors.find((a) => a.user === null)!;
    await expect(copied.transact(copied.tx.authors[other.id]!.link({ user: author.user!.id }))).rejects.toThrow(
      /unique/,
    );
  });

  it('copies an app into an archive laid out like Instant backups, and the archive into another app', async () => {
    const { app, db } = await sourceApp();
    const dir = await mkdtemp(join(tmpdir(), 'copy-archive-'));
    const toArchive = await copy(new AppSource(clientFor(app)), new ArchiveSink(dir));
    expect(toArchive.sizeBytes).toBeGreaterThan(TAGS * 40);

    expect((await readdir(dir)).sort()).toEqual(['config.json', 'entities', 'manifest.json']);
    expect((await readdir(join(dir, 'entities'))).sort()).toEqual(
      ['$users', 'authors', 'drafts', 'posts', 'tags'].map((ns) => `${ns}.jsonl`),
    );
    expect(await readFile(join(dir, 'entities', 'drafts.jsonl'), 'utf8')).toBe('');
    const line = JSON.parse((await readFile(join(dir, 'entities', 'posts.jsonl'), 'utf8')).split('\n')[1]!);
    expect(Object.keys(line)).toEqual(['entity']);
    expect(typeof line.entity.author).toBe('string'); // has-one: one id, as Instant writes it
    expect(line.entity.tags).toHaveLength(2);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'instant-provisioner-archive', version: 1, entityCount: 10_223 });
    expect(manifest.checksum).toBe(toArchive.checksum);

    const target = sandbox!.createApp({ title: 'restored' });
    const restored = await copy(await ArchiveSource.open(dir), new AppSink(clientFor(target)));
    expect(restored.checksum).toBe(toArchive.checksum);
    expect(await contents(dbFor(target))).toEqual(await contents(db));
  });

  it('killed halfway, then run again, ends with exactly one copy of each entity (with or without the checkpoint)', async () => {
    const { app, db } = await sourceApp();
    for (const withCheckpoint of [false, true]) {
      const target = sandbox!.createApp({ title: `target-${withCheckpoint}` });
      const stop = new AbortController();
      let pages = 0;
      let checkpoint: CopyCheckpoint | undefined;
      const killed = await copy(new AppSource(clientFor(app)), new AppSink(clientFor(target)), {
        signal: stop.signal,
        onProgress: (progress) => {
          checkpoint = progress.checkpoint;
          if (++pages === 4) stop.abort();
        },
      }).catch((error: unknown) => error);
      expect(killed).toBeInstanceOf(AbortedError);
      const half = await dbFor(target).query({ tags: { $: { fields: ['id'] } } });
      expect(half.tags.length).toBeGreaterThan(0);
      expect(half.tags.length).toBeLessThan(TAGS);

      const again = await copy(new AppSource(clientFor(app)), new AppSink(clientFor(target)), {
        resumeFrom: withCheckpoint ? checkpoint! : null,
      });
      expect(again.verified).toBe(true);
      expect(await contents(dbFor(target))).toEqual(await contents(db));
    }
  });

  it('run twice into the same app, verifies twice: unique attributes and has-one links survive a re-run', async () => {
    const { app } = await sourceApp();
    const target = sandbox!.createApp({ title: 'twice' });
    const first = await copyApp(app, target);
    const second = await copyApp(app, target);
    expect(second.checksum).toBe(first.checksum);
    expect(second.entityCount).toBe(first.entityCount);
  });

  it('refuses an archive cut short, altered, or without its manifest, before writing anything', async () => {
    const { app } = await sourceApp();
    const dir = await mkdtemp(join(tmpdir(), 'copy-archive-'));
    await copy(new AppSource(clientFor(app)), new ArchiveSink(dir));
    const tags = join(dir, 'entities', 'tags.jsonl');
    const original = await readFile(tags);

    await truncate(tags, original.length - 10);
    await expect(ArchiveSource.open(dir)).rejects.toThrow(
      `archive invalid: entities/tags.jsonl is truncated: ${original.length - 10} bytes, the manifest says ${original.length}`,
    );

    const altered = Buffer.from(original);
    altered[100] = altered[100] === 0x31 ? 0x32 : 0x31; // one digit of some id or label
    await writeFile(tags, altered);
    const error = await ArchiveSource.open(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CopyError);
    expect((error as CopyError).kind).toBe('archive-invalid');
    expect((error as Error).message).toBe(
      'archive invalid: entities/tags.jsonl does not match its checksum in manifest.json: the archive was altered',
    );

    await writeFile(join(dir, 'manifest.json'), '{"format": "instant-provisioner-archive", "vers');
    await expect(ArchiveSource.open(dir)).rejects.toThrow('archive invalid: manifest.json is not JSON');
    await expect(ArchiveSource.open(join(dir, 'nope'))).rejects.toThrow(`archive invalid: no archive at`);
  });

  it('copies a schemaless app whose attributes and links were made on the fly', async () => {
    sandbox = await startSandbox({ seed: 23 });
    const app = sandbox.createApp({ title: 'schemaless' });
    const db = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url });
    const people = Array.from({ length: 30 }, () => id());
    await db.transact(people.map((person, n) => db.tx['people']![person]!.update({ name: `p${n}`, age: n })));
    await db.transact(
      people.map((person, n) =>
        db.tx['notes']![id()]!.update({ text: `note ${n}`, tags: ['a', n] }).link({ people: [person] }),
      ),
    );
    const target = sandbox.createApp({ title: 'copy' });
    const result = await copyApp(app, target);
    expect(result.namespaces).toMatchObject({ people: { count: 30 }, notes: { count: 30 } });
    const read = (a: typeof app) =>
      init({ appId: a.id, adminToken: a.adminToken, apiURI: sandbox!.url })
        .query({ notes: { people: {} } })
        .then((r) => [...r['notes']!].sort((x, y) => (x.id < y.id ? -1 : 1)));
    expect(await read(target)).toEqual(await read(app));
  });

  it('rides out failed transactions and 429s (retried), and names a rejected token without repeating it', async () => {
    const { app, db } = await sourceApp();
    const target = sandbox!.createApp({ title: 'flaky' });
    // Failed transactions are retried with backoff; a 429 on the schema or rules push waits out Retry-After.
    sandbox!.faults.set({ pTransactFail: 0.3, pPush429: 0.9, retryAfter: 0 });
    const result = await copy(
      new AppSource(clientFor(app)),
      new AppSink(
        new AppClient(
          { apiUri: sandbox!.url, appId: target.id, adminToken: target.adminToken },
          { backoff: { baseMs: 1, maxMs: 5 }, attempts: 10 },
        ),
      ),
    );
    sandbox!.faults.reset();
    expect(result.verified).toBe(true);
    expect(sandbox!.stats().faults['transactFail']).toBeGreaterThan(0);
    expect(sandbox!.stats().faults['push429']).toBeGreaterThan(0);
    expect(await contents(dbFor(target))).toEqual(await contents(db));

    const wrong = id();
    const error = await copy(
      new AppSource(clientFor({ id: app.id, adminToken: wrong })),
      new ArchiveSink(await mkdtemp(join(tmpdir(), 'x-'))),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CopyError);
    expect((error as CopyError).kind).toBe('token-rejected');
    expect((error as CopyError).retryable).toBe(false);
    expect((error as Error).message).not.toContain(wrong);
  });
});
