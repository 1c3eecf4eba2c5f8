import { describe, expect, it } from 'vitest';
import { OrgListingScanner } from '../../src/platform/org-listing-scanner.js';

/** An org listing row as the server builds it (make-apps-q): nested objects with titles and times of their own. */
const row = (id: string, title: string, createdAt: string) => ({
  id,
  creator_id: null,
  title,
  created_at: createdAt,
  org_id: 'org-1',
  admin_token: `token-of-${id}`,
  rules: { tasks: { allow: { view: 'data.title == "x}{\\"title\\":\\"trap\\""' } } },
  org: { id: 'org-1', title: 'calm-red-heron' },
  members: [{ id: 'm1', email: 'a@example.com', role: 'admin' }],
  webhooks: [{ id: 'w1', created_at: '2030-01-01T00:00:00.000000+00:00', namespaces: ['tasks'] }],
  magic_code_email_template: null,
});

const body = JSON.stringify({
  apps: [
    row('a1', 'calm-red-heron', '2026-12-01T10:00:00Z'),
    row('a2', 'swift-blue-otter', '2026-12-02T10:00:00Z'),
    row('a3', 'x}{"title":"trap"', '2026-12-03T10:00:00Z'),
  ],
});

function scan(filter: ConstructorParameters<typeof OrgListingScanner>[0], chunk = body.length) {
  const scanner = new OrgListingScanner(filter);
  const bytes = Buffer.from(body);
  for (let at = 0; at < bytes.length; at += chunk) scanner.write(bytes.subarray(at, at + chunk));
  return scanner.end();
}

describe('OrgListingScanner', () => {
  it('reads each row whole, whatever its nested objects are titled or timed, at any chunking', () => {
    for (const chunk of [1, 2, 7, 64, body.length]) {
      // The org is titled like a wanted app: only the row's own title counts.
      expect(scan({ titles: new Set(['calm-red-heron']) }, chunk)).toEqual([
        { id: 'a1', title: 'calm-red-heron', createdAt: Date.parse('2026-12-01T10:00:00Z') },
      ]);
      // Webhooks created "in 2030" do not make an old app new.
      expect(scan({ createdSince: Date.parse('2026-12-02T00:00:00Z') }, chunk).map((app) => app.id)).toEqual([
        'a2',
        'a3',
      ]);
    }
  });

  it('keeps no admin token, and refuses what is not a listing', () => {
    expect(JSON.stringify(scan({ createdSince: 0 }))).not.toContain('token-of');
    const scanner = new OrgListingScanner({ createdSince: 0 });
    scanner.write(Buffer.from('{"apps": [{"id": "a1"'));
    expect(() => scanner.end()).toThrow(/not \{"apps": \[\.\.\.\]\}/);
  });
});
