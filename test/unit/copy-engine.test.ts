/** The copy engine over in-memory sources and sinks: checksums, verification, checkpoints, the schema converter. */
import { describe, expect, it } from 'vitest';
import { AbortedError } from '../../src/clock.js';
import { ContentSum, canonicalEntity } from '../../src/copy/checksum.js';
import { copy } from '../../src/copy/copy.js';
import { RatePause } from '../../src/copy/rate-pause.js';
import { configFromCatalog, schemaDifferences } from '../../src/copy/schema-defs.js';
import { entitySteps } from '../../src/copy/app-sink.js';
import type {
  CopiedEntity,
  CopyCheckpoint,
  CopyConfig,
  CopyResult,
  CopySink,
  CopySource,
  ExpectedContent,
  NamespacePlan,
} from '../../src/copy/types.js';
import { CopyError } from '../../src/errors.js';
import { FakeClock } from '../fakes/fake-clock.js';

const PLANS: NamespacePlan[] = [
  { name: 'posts', links: [{ label: 'tags', target: 'tags', has: 'many' }], skippedLinks: [] },
  { name: 'tags', links: [], skippedLinks: [] },
  { name: 'empty', links: [], skippedLinks: [] },
];
const CONFIG: CopyConfig = { schema: { entities: {}, links: {} }, rules: null, namespaces: PLANS, sourceAppId: 'src' };

function data(posts = 25, tags = 7): Map<string, CopiedEntity[]> {
  const tagList: CopiedEntity[] = Array.from({ length: tags }, (_, n) => ({
    id: `t${n}`,
    attrs: { label: `l${n}` },
    links: {},
  }));
  const postList = Array.from({ length: posts }, (_, n): CopiedEntity => ({
    id: `p${n}`,
    attrs: { title: `post ${n}`, meta: { b: n, a: [1, { y: 2, x: 1 }] } },
    links: n % 2 ? { tags: [`t${n % tags}`, `t${(n + 1) % tags}`] } : {},
  }));
  return new Map<string, CopiedEntity[]>([
    ['posts', postList],
    ['tags', tagList],
    ['empty', []],
  ]);
}

class MemorySource implements CopySource {
  reads = 0;
  constructor(
    private readonly entities: Map<string, CopiedEntity[]>,
    private readonly pageSize = 4,
    private readonly expectation: ExpectedContent | null = null,
  ) {}
  async readConfig() {
    return CONFIG;
  }
  async *readNamespace(plan: NamespacePlan, from: number) {
    const all = this.entities.get(plan.name) ?? [];
    for (let i = from; i < all.length; i += this.pageSize) {
      this.reads++;
      yield all.slice(i, i + this.pageSize);
    }
  }
  counts() {
    return Object.fromEntries([...this.entities].map(([ns, list]) => [ns, list.length]));
  }
  expected() {
    return this.expectation;
  }
  async close() {}
}

/** Keeps what it is given by id; reads it back in reverse order (order must not matter). */
class MemorySink implements CopySink {
  readonly resumable = true;
  readonly stored = new Map<string, Map<string, CopiedEntity>>();
  writes = 0;
  committed: CopyResult | null = null;
  /** Changes what is read back, to play a lossy or corrupting target. */
  tamper: (ns: string, entities: CopiedEntity[]) => CopiedEntity[] = (_ns, entities) => entities;
  async begin() {}
  async writePage(plan: NamespacePlan, page: CopiedEntity[]) {
    const table = this.stored.get(plan.name) ?? new Map<string, CopiedEntity>();
    this.stored.set(plan.name, table);
    for (const entity of page) table.set(entity.id, structuredClone(entity));
    this.writes += page.length;
  }
  async finish() {
    const back = new Map([...this.stored].map(([ns, table]) => [ns, this.tamper(ns, [...table.values()].reverse())]));
    return new MemorySource(back, 3);
  }
  sizeBytes() {
    return 42;
  }
  async commit(result: CopyResult) {
    this.committed = result;
  }
  async close() {}
}

describe('copy (engine)', () => {
  it('copies every namespace, reads it back in another order and verifies', async () => {
    const sink = new MemorySink();
    const progress: number[] = [];
    const result = await copy(new MemorySource(data()), sink, { onProgress: (p) => progress.push(p.entities) });
    expect(result).toMatchObject({ entityCount: 32, sizeBytes: 42, verified: true });
    expect(result.namespaces['empty']).toEqual({ count: 0, checksum: '0'.repeat(64) });
    expect(sink.stored.get('posts')!.size).toBe(25);
    expect(sink.committed).toEqual(result);
    expect(progress.at(-1)).toBe(32);
  });

  it('fails verification, and never commits, when the copy lost an entity or changed a link', async () => {
    const lossy = new MemorySink();
    lossy.tamper = (ns, entities) => (ns === 'tags' ? entities.slice(1) : entities);
    const lost = await copy(new MemorySource(data()), lossy).catch((error: unknown) => error);
    expect(lost).toBeInstanceOf(CopyError);
    expect((lost as CopyError).kind).toBe('verify-failed');
    expect((lost as Error).message).toBe('verify failed: tags has 6 entities in the copy and 7 in the source');
    expect(lossy.committed).toBeNull();

    const relinked = new MemorySink();
    relinked.tamper = (ns, entities) =>
      entities.map((e) => (ns === 'posts' && e.id === 'p3' ? { ...e, links: { tags: ['t0'] } } : e));
    const changed = await copy(new MemorySource(data()), relinked).catch((error: unknown) => error);
    expect((changed as Error).message).toBe('verify failed: the content of posts differs from the source');
  });

  it('stopped after some pages, resumes from its last checkpoint without writing done namespaces again', async () => {
    const sink = new MemorySink();
    const stop = new AbortController();
    let checkpoint: CopyCheckpoint | undefined;
    const first = await copy(new MemorySource(data()), sink, {
      signal: stop.signal,
      onProgress: (p) => {
        checkpoint = p.checkpoint;
        if (p.namespace === 'tags') stop.abort();
      },
    }).catch((error: unknown) => error);
    expect(first).toBeInstanceOf(AbortedError);
    expect(checkpoint!.done['posts']!.count).toBe(25);
    expect(checkpoint!.current).toMatchObject({ namespace: 'tags', count: 4 });

    sink.writes = 0;
    const resumed = await copy(new MemorySource(data()), sink, { resumeFrom: checkpoint! });
    expect(sink.writes).toBe(3); // the last three tags only
    const whole = await copy(new MemorySource(data()), new MemorySink());
    expect(resumed.checksum).toBe(whole.checksum);
    expect(resumed.verified).toBe(true);
  });

  it('refuses a source whose content does not match what it promised (an archive and its manifest)', async () => {
    const reference = await copy(new MemorySource(data()), new MemorySink());
    const expected: ExpectedContent = { namespaces: { ...reference.namespaces } };
    expected.namespaces['tags'] = { count: 7, checksum: 'f'.repeat(64) };
    const error = await copy(new MemorySource(data(), 4, expected), new MemorySink()).catch((e: unknown) => e);
    expect((error as CopyError).kind).toBe('archive-invalid');
    expect((error as Error).message).toMatch(/entities of tags do not match the manifest/);
  });
});

describe('content checksum', () => {
  it('does not depend on order, key order or link order, and does depend on content', () => {
    const a: CopiedEntity = { id: 'x', attrs: { b: 1, a: { d: [2, 1], c: null } }, links: { l: ['2', '1'] } };
    const b: CopiedEntity = { id: 'x', attrs: { a: { c: null, d: [2, 1] }, b: 1 }, links: { l: ['1', '2'], m: [] } };
    expect(canonicalEntity('ns', a)).toBe(canonicalEntity('ns', b));
    expect(canonicalEntity('ns', a)).not.toBe(canonicalEntity('ns', { ...a, attrs: { ...a.attrs, a: { d: [1, 2] } } }));
    expect(canonicalEntity('ns', a)).not.toBe(canonicalEntity('other', a));

    const one = new ContentSum();
    const two = new ContentSum();
    const entities = Array.from({ length: 50 }, (_, n) => ({ id: `e${n}`, attrs: { n }, links: {} }));
    for (const e of entities) one.add('ns', e);
    for (const e of [...entities].reverse()) two.add('ns', e);
    expect(one.hex).toBe(two.hex);
    // An entity counted twice changes the sum (an XOR would not notice a pair).
    const twice = ContentSum.from(one.hex, one.count);
    twice.add('ns', entities[0]!);
    twice.add('ns', entities[0]!);
    expect(twice.hex).not.toBe(one.hex);
    expect(ContentSum.from(one.hex, 50).hex).toBe(one.hex);
    const half = new ContentSum();
    const rest = new ContentSum();
    entities.forEach((e, n) => (n < 20 ? half : rest).add('ns', e));
    expect(half.plus(rest).hex).toBe(one.hex);
    expect(half.plus(rest).count).toBe(50);
  });
});

describe('schema converter', () => {
  const attr = (ns: string, label: string, extra: Record<string, unknown> = {}) => ({
    id: `${ns}-${label}`,
    'forward-identity': ['f', ns, label],
    'value-type': 'blob',
    cardinality: 'one',
    'unique?': false,
    'index?': false,
    'required?': false,
    'checked-data-type': null,
    catalog: 'user',
    ...extra,
  });
  const ref = (ns: string, label: string, revNs: string, revLabel: string, extra: Record<string, unknown> = {}) => ({
    id: `${ns}-${label}`,
    'forward-identity': ['f', ns, label],
    'reverse-identity': ['r', revNs, revLabel],
    'value-type': 'ref',
    cardinality: 'many',
    'unique?': false,
    'index?': false,
    'required?': false,
    catalog: 'user',
    ...extra,
  });
  const catalog = {
    blobs: {
      posts: {
        id: attr('posts', 'id', { 'unique?': true }),
        title: attr('posts', 'title', { 'checked-data-type': 'string', 'required?': true }),
        slug: attr('posts', 'slug', { 'checked-data-type': 'string', 'unique?': true, 'index?': true }),
        meta: attr('posts', 'meta'),
      },
      $users: { id: attr('$users', 'id'), email: attr('$users', 'email', { catalog: 'system', 'unique?': true }) },
      $files: { id: attr('$files', 'id'), path: attr('$files', 'path', { catalog: 'system' }) },
    },
    refs: {
      a: ref('posts', 'author', '$users', 'posts', { cardinality: 'one', 'on-delete': 'cascade', 'required?': true }),
      b: ref('posts', 'cover', '$files', 'coverOf', { cardinality: 'one', 'unique?': true }),
      c: ref('comments', 'post', 'posts', 'comments', { cardinality: 'one', 'on-delete-reverse': 'cascade' }),
      d: ref('$users', 'linkedPrimaryUser', '$users', 'linkedGuestUsers', { cardinality: 'one', catalog: 'system' }),
    },
  };

  it('gives the schema definition format a push takes, and a plan that leaves $files out', () => {
    const config = configFromCatalog(catalog, { posts: { allow: { view: 'true' } } }, 'app-1');
    expect(config.schema).toEqual({
      entities: {
        posts: {
          attrs: {
            title: { valueType: 'string', required: true, config: { indexed: false, unique: false } },
            slug: { valueType: 'string', config: { indexed: true, unique: true } },
            meta: { valueType: 'any', config: { indexed: false, unique: false } },
          },
        },
        $users: { attrs: {} },
        comments: { attrs: {} },
      },
      links: {
        postsAuthor: {
          forward: { on: 'posts', label: 'author', has: 'one', required: true, onDelete: 'cascade' },
          reverse: { on: '$users', label: 'posts', has: 'many' },
        },
        commentsPost: {
          forward: { on: 'comments', label: 'post', has: 'one' },
          reverse: { on: 'posts', label: 'comments', has: 'many', onDelete: 'cascade' },
        },
      },
    });
    expect(config.namespaces).toEqual([
      {
        name: '$users',
        links: [{ label: 'linkedPrimaryUser', target: '$users', has: 'one' }],
        skippedLinks: [],
      },
      { name: 'comments', links: [{ label: 'post', target: 'posts', has: 'one' }], skippedLinks: [] },
      { name: 'posts', links: [{ label: 'author', target: '$users', has: 'one' }], skippedLinks: ['cover'] },
    ]);
    expect(config.rules).toEqual({ posts: { allow: { view: 'true' } } });
  });

  it('names what a target lacks or has otherwise', () => {
    const wanted = configFromCatalog(catalog, null, null).schema;
    const actual = structuredClone(wanted);
    delete actual.entities['posts']!.attrs['meta'];
    actual.entities['posts']!.attrs['slug']!.config.unique = false;
    actual.links['postsAuthor']!.reverse.has = 'one';
    actual.entities['posts']!.attrs['extra'] = { valueType: 'any', config: { indexed: false, unique: false } };
    expect(schemaDifferences(wanted, actual)).toEqual([
      'attribute posts.slug differs',
      'attribute posts.meta is missing',
      'link posts.author differs',
    ]);
    expect(schemaDifferences(wanted, wanted)).toEqual([]);
  });
});

describe('app sink steps', () => {
  it('writes an entity as one upsert and one link step per label, as the SDK sends them', () => {
    const steps = entitySteps('posts', { id: 'p1', attrs: { title: 'x' }, links: { tags: ['t1', 't2'], none: [] } });
    expect(steps.map((step) => JSON.parse(step))).toEqual([
      ['update', 'posts', 'p1', { title: 'x' }],
      ['link', 'posts', 'p1', { tags: ['t1', 't2'] }],
    ]);
  });
});

describe('rate pause', () => {
  it('holds every waiter until the longest pause asked for', async () => {
    const clock = new FakeClock();
    const pause = new RatePause(clock);
    pause.pauseFor(1_000);
    pause.pauseFor(300);
    let released = false;
    const waiting = pause.wait(new AbortController().signal).then(() => (released = true));
    await clock.advance(999);
    expect(released).toBe(false);
    await clock.advance(1);
    await waiting;
    expect(released).toBe(true);
  });
});
