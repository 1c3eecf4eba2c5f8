/** Reading a streamed GET /superadmin/apps for the apps a lookup wants, whatever the chunk boundaries. */
import { describe, expect, it, vi } from 'vitest';
import { PlatformError } from '../../src/errors.js';
import { AppListingScanner } from '../../src/platform/listing-scanner.js';

const row = (id: string, title: string, createdAt: string) => ({
  id,
  creator_id: 'c0000000-0000-4000-8000-000000000000',
  title,
  created_at: createdAt,
  org_id: null,
  deletion_marked_at: null,
  status: 'active',
  subscription_id: null,
  magic_code_expiry_minutes: null,
  connection_string: null,
});

// Titles that would fool a naive search: braces, quotes, backslashes, our key inside a title, non-ASCII.
const apps = [
  row('a1', 'swift-blue-river', '2026-11-27T10:00:00Z'),
  row('a2', 'my {cool} "app" \\ }{', '2026-11-27T10:00:01Z'),
  row('a3', '"title":"swift-blue-river"', '2026-11-27T10:00:02Z'),
  row('a4', 'calm-red-heron', '2026-11-27T11:00:00Z'),
  row('a5', 'ünïcödé ✓ {"created_at":"2030-01-01T00:00:00Z"}', '2026-11-20T00:00:00Z'),
  row('a6', 'swift-blue-river', '2026-11-28T00:00:00Z'),
];
const body = Buffer.from(JSON.stringify({ apps }));

function scan(filter: ConstructorParameters<typeof AppListingScanner>[0], chunkSize: number, bytes = body) {
  const scanner = new AppListingScanner(filter);
  for (let at = 0; at < bytes.length; at += chunkSize) scanner.write(bytes.subarray(at, at + chunkSize));
  return scanner
    .end()
    .map((app) => app.id)
    .sort();
}

describe('the listing scanner', () => {
  // Every chunk size from 1 byte up cuts the needles and the rows at every possible place.
  const sizes = [1, 2, 3, 5, 7, 13, 31, 64, 100, 257, body.length];

  it.each(sizes)('finds apps by title, never a title quoted inside another one (chunks of %i bytes)', (size) => {
    expect(scan({ titles: new Set(['swift-blue-river']) }, size)).toEqual(['a1', 'a6']);
    expect(scan({ titles: new Set(['swift-blue-river', 'calm-red-heron', 'nowhere']) }, size)).toEqual([
      'a1',
      'a4',
      'a6',
    ]);
    expect(scan({ titles: new Set(['my {cool} "app" \\ }{']) }, size)).toEqual(['a2']);
  });

  it.each(sizes)('finds apps created since a time, reading every row (chunks of %i bytes)', (size) => {
    expect(scan({ createdSince: Date.parse('2026-11-27T10:00:01Z') }, size)).toEqual(['a2', 'a3', 'a4', 'a6']);
    expect(scan({ createdSince: 0 }, size)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
    // Rows' times are whole seconds: one millisecond after a row's second is after the row.
    expect(scan({ createdSince: Date.parse('2026-11-27T10:00:00Z') + 1 }, size)).toEqual(['a2', 'a3', 'a4', 'a6']);
    expect(scan({ createdSince: Date.parse('2026-11-27T10:00:01Z') - 1 }, size)).toEqual(['a2', 'a3', 'a4', 'a6']);
    expect(
      scan({ createdSince: Date.parse('2026-11-28T00:00:00Z'), titles: new Set(['calm-red-heron']) }, size),
    ).toEqual(['a4', 'a6']);
  });

  it.each(sizes)(
    'passes over rows created before the time unparsed, never a newer one (chunks of %i bytes)',
    (size) => {
      const since = Date.parse('2026-11-27T10:00:00Z');
      // An unusable row is only refused when it could be wanted: an old one is not even read.
      const old = { ...row('old', 'old-app', '2026-11-26T23:59:59Z'), id: 5 };
      const mixed = Buffer.from(JSON.stringify({ apps: [old, ...apps] }));
      expect(scan({ createdSince: since }, size, mixed)).toEqual(['a1', 'a2', 'a3', 'a4', 'a6']);
      const newer = { ...row('new', 'new-app', '2026-11-27T10:00:00Z'), id: 5 };
      expect(() => scan({ createdSince: since }, size, Buffer.from(JSON.stringify({ apps: [newer] })))).toThrow(
        /unusable app row/,
      );
      // A value it cannot read on its own (an escape, not a time) is judged with the whole row.
      const escaped = Buffer.from(
        JSON.stringify({ apps: [row('e', 'e', '2026-11-26T00:00:00Z')] }).replace('26T', '26\\u0054'),
      );
      expect(scan({ createdSince: since }, size, escaped)).toEqual([]);
      expect(scan({ createdSince: 0 }, size, escaped)).toEqual(['e']);
      expect(() =>
        scan({ createdSince: 0 }, size, Buffer.from(JSON.stringify({ apps: [row('y', 'y', 'yesterday')] }))),
      ).toThrow(/unusable app row/);
    },
  );

  it.each([3, 7, 100, 4_093, 8_192, 65_536])(
    'reads rows longer than the first look around a key, and backslash runs longer than it (chunks of %i bytes)',
    (size) => {
      const long = [
        row('long-title', 'x'.repeat(10_000), '2026-11-27T10:00:00Z'),
        row('backslashes', '\\'.repeat(5_000), '2026-11-27T10:00:00Z'),
        row('short', 'swift-blue-river', '2026-11-27T10:00:00Z'),
      ];
      const bytes = Buffer.from(JSON.stringify({ apps: long }));
      expect(scan({ createdSince: 0 }, size, bytes)).toEqual(['backslashes', 'long-title', 'short']);
      expect(scan({ titles: new Set(['\\'.repeat(5_000), 'swift-blue-river']) }, size, bytes)).toEqual([
        'backslashes',
        'short',
      ]);
    },
  );

  it('keeps nothing and reads nothing into memory for an empty filter, but still checks the answer', () => {
    expect(scan({}, 16)).toEqual([]);
    expect(() => scan({}, 16, Buffer.from('<html>502 Bad Gateway</html>'))).toThrow(PlatformError);
  });

  it('refuses what is not a complete listing: no envelope, a cut-off body, an unusable row', () => {
    const refuse = (text: string, filter = { createdSince: 0 }) =>
      expect(() => scan(filter, 7, Buffer.from(text))).toThrow(/list answer/);
    refuse('{"apps":[');
    refuse(JSON.stringify({ apps }).slice(0, -40));
    refuse(JSON.stringify({ data: apps }));
    refuse(JSON.stringify({ apps: [{ ...apps[0], id: 5 }] }));
    refuse(JSON.stringify({ apps: [{ ...apps[0], created_at: 'yesterday' }] }));
  });

  it('reads a large listing with memory bounded by a window, not by the number of apps', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => row(`id-${i}`, `name-${i}`, '2026-11-27T10:00:00Z'));
    const big = Buffer.from(JSON.stringify({ apps: many }));
    const scanner = new AppListingScanner({ titles: new Set(['name-19999', 'name-7']) });
    let largestWindow = 0;
    // Chunks are searched where they lie: what is copied is the seams and the rows read, not the body.
    let copied = 0;
    const concat = Buffer.concat.bind(Buffer);
    const spy = vi.spyOn(Buffer, 'concat').mockImplementation((list, length) => {
      const joined = concat(list, length);
      copied += joined.length;
      return joined;
    });
    try {
      for (let at = 0; at < big.length; at += 16_384) {
        scanner.write(big.subarray(at, at + 16_384));
        largestWindow = Math.max(largestWindow, scanner.keptBytes);
      }
    } finally {
      spy.mockRestore();
    }
    expect(copied).toBeLessThan(big.length / 100);
    expect(
      scanner
        .end()
        .map((app) => app.id)
        .sort(),
    ).toEqual(['id-19999', 'id-7']);
    expect(largestWindow).toBeLessThan(100 * 1024);
    expect(big.length).toBeGreaterThan(5_000_000);
  });
});
