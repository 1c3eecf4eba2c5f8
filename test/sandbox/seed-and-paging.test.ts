/** Seeding a big app at once, and offset pages deep into creation order (what a copy reads). */
import { i, init } from '@instantdb/admin';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';

const schema = i.schema({
  entities: {
    posts: i.entity({ title: i.string(), slug: i.string().unique().indexed(), views: i.number().indexed() }),
    tags: i.entity({ label: i.string().unique().indexed() }),
  },
  links: {
    postTags: {
      forward: { on: 'posts', has: 'many', label: 'tags' },
      reverse: { on: 'tags', has: 'many', label: 'posts' },
    },
    postFeatured: {
      forward: { on: 'posts', has: 'one', label: 'featured' },
      reverse: { on: 'tags', has: 'one', label: 'featuredIn' },
    },
  },
  rooms: {},
});

let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function seeded(clock?: { now(): number }) {
  sandbox = await startSandbox({ seed: 7, ...(clock ? { clock } : {}) });
  const app = sandbox.createApp({ title: 'big', schema });
  const db = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url, schema });
  return { app, db, sandbox };
}

describe('seeding entities', () => {
  it('fills every attribute by type and links as asked, over HTTP', async () => {
    const { app, db, sandbox: sb } = await seeded();
    const res = await fetch(`${sb.url}/__sandbox/apps/${app.id}/seed-entities`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sb.platformToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        entities: { posts: 30, tags: 20 },
        links: { 'posts.tags': 3, 'posts.featured': 1 },
      }),
    });
    expect(await res.json()).toEqual({
      entities: { posts: 30, tags: 20 },
      // has-one reverse (featuredIn): each tag gets at most one post, so 20 of the 30 posts.
      links: { 'posts.tags': 90, 'posts.featured': 20 },
    });
    const { posts } = await db.query({ posts: { tags: {}, featured: {} } });
    expect(posts).toHaveLength(30);
    expect(new Set(posts.map((post) => post.slug)).size).toBe(30);
    expect(posts.every((post) => post.tags.length === 3)).toBe(true);
    expect(posts.filter((post) => post.featured).length).toBe(20);
    expect(typeof posts[0]!.views).toBe('number');
    // Unique values are indexed: a lookup by one finds its entity.
    const { tags } = await db.query({ tags: { $: { where: { label: 'label-7' } } } });
    expect(tags).toHaveLength(1);
  });

  it('refuses a spec that names what the schema lacks', async () => {
    const { app, sandbox: sb } = await seeded();
    expect(() => sb.seedEntities(app.id, { entities: { nope: 1 } })).toThrow(/no namespace nope/);
    expect(() => sb.seedEntities(app.id, { entities: { posts: 1, tags: 1 }, links: { 'posts.featured': 2 } })).toThrow(
      /has-one/,
    );
  });
});

describe('offset pages in creation order', () => {
  it('a deep page is the same slice a full read gives, also after deletes', async () => {
    const { app, db, sandbox: sb } = await seeded();
    sb.seedEntities(app.id, { entities: { posts: 5_000, tags: 1 } });
    const all = (await db.query({ posts: { $: { order: { serverCreatedAt: 'asc' } } } })).posts.map((p) => p.id);
    // Deleted entities leave the order: a later page must not count them.
    await db.transact(all.slice(100, 110).map((id) => db.tx.posts[id]!.delete()));
    const alive = all.filter((_, index) => index < 100 || index >= 110);
    for (const offset of [0, 95, 2_500, 4_980]) {
      const page = await db.query({ posts: { $: { limit: 50, offset, order: { serverCreatedAt: 'asc' } } } });
      expect(page.posts.map((p) => p.id)).toEqual(alive.slice(offset, offset + 50));
    }
    const last = await db.query({ posts: { $: { limit: 10, offset: 5, order: { serverCreatedAt: 'desc' } } } });
    expect(last.posts.map((p) => p.id)).toEqual([...alive].reverse().slice(5, 15));
  });

  it('entities written in one transaction keep id order among themselves', async () => {
    // A clock that stands still: the whole transaction shares one millisecond, as on the server.
    const { db } = await seeded({ now: () => Date.UTC(2026, 0, 1) });
    const ids = Array.from({ length: 200 }, () => crypto.randomUUID());
    await db.transact(ids.map((id, n) => db.tx.posts[id]!.update({ title: `t${n}`, slug: `s${n}`, views: n })));
    const { posts } = await db.query({ posts: { $: { order: { serverCreatedAt: 'asc' } } } });
    const byCreation = posts.map((p) => p.id);
    // One transaction, one millisecond: the server orders ties by id.
    expect(byCreation).toEqual([...ids].sort());
  });
});
