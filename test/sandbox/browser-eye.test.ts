/**
 * What a browser can and cannot do with the shipped rules, through the real `@instantdb/core`
 * client as a guest, user A and user B (signed in with `signInWithToken`), against data the
 * admin SDK made first and that is checked to exist (test/browser-eye/world.ts). The rows live in
 * test/browser-eye/probes.ts, which a browser page can run too; the README's table is checked
 * against them. The same rows then run through the admin SDK's `asUser`, the other way in.
 */
import { readFileSync } from 'node:fs';
import { id, init as adminInit, type InstantAdminDatabase } from '@instantdb/admin';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import perms from '../../instant.perms.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { PROBES, tableRow, type ProbeDb, type Who } from '../browser-eye/probes.js';
import { buildWorld, checkWorld, type World } from '../browser-eye/world.js';
import { schema } from './helpers.js';
import { connected, openBrowser } from './simulated-browser.js';

let sandbox: Sandbox;
let appId: string;
let adminToken: string;
let admin: InstantAdminDatabase<typeof schema>;
let world: World;
const closers: (() => void)[] = [];

beforeEach(async () => {
  sandbox = await startSandbox({ seed: 7 });
  ({ id: appId, adminToken } = sandbox.createApp({ title: 'main', schema, perms }));
  admin = adminInit({ appId, adminToken, apiURI: sandbox.url, schema });
  world = await buildWorld(admin as never, id);
  await checkWorld(admin as never, world);
});

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await sandbox.close();
});

/** Runs every row with the given clients; returns `| who | what | outcome |` rows, observed and expected. */
async function runRows(dbs: Record<Who, ProbeDb>) {
  const observed: string[] = [];
  const report: string[] = [];
  for (const probe of PROBES) {
    let seen;
    try {
      seen = await probe.run({ db: dbs[probe.who], world, newId: id });
    } catch (error) {
      seen = { outcome: 'inconclusive', saw: `threw: ${(error as Error).message}` };
    }
    observed.push(tableRow({ ...probe, expected: seen.outcome as never }));
    report.push(`| ${probe.who} | ${probe.what} | ${probe.expected} | ${seen.outcome}: ${seen.saw} |`);
  }
  return { observed, expected: PROBES.map(tableRow), report };
}

describe('browser-eye: what the shipped rules let a browser do', () => {
  it('through @instantdb/core, every row sees what it expects', async () => {
    const browser = async (token?: string) => {
      // No schema: an attacker's client sends attributes a schema would refuse locally.
      const db = openBrowser(sandbox, appId);
      closers.push(() => db.shutdown());
      if (token) await db.auth.signInWithToken(token);
      await connected(db);
      return db as unknown as ProbeDb;
    };
    const dbs = {
      guest: await browser(),
      'user A': await browser(world.tokens.a),
      'user B': await browser(world.tokens.b),
    };
    const { observed, expected, report } = await runRows(dbs);
    process.stdout.write(`\n| who | action | expected | saw |\n|---|---|---|---|\n${report.join('\n')}\n`);
    expect(observed).toEqual(expected);
  });

  it("through the admin SDK's asUser, the same rows agree", async () => {
    const scoped = adminInit({ appId, adminToken, apiURI: sandbox.url });
    const via = (db: ReturnType<typeof scoped.asUser>): ProbeDb => ({
      tx: db.tx,
      transact: async (chunks) => {
        await db.transact(chunks as never);
        return { status: 'synced' };
      },
      queryOnce: async (q) => ({ data: (await db.query(q as never)) as Record<string, any[]> }),
    });
    const { observed, expected } = await runRows({
      guest: via(scoped.asUser({ guest: true })),
      'user A': via(scoped.asUser({ token: world.tokens.a })),
      'user B': via(scoped.asUser({ token: world.tokens.b })),
    });
    expect(observed).toEqual(expected);
  });

  it("the README's table is exactly these rows", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.split('### What a browser can and cannot do')[1]!.split('\n## ')[0]!;
    const rows = section.split('\n').filter((line) => /^\| (guest|user [AB]) \|/.test(line));
    expect(rows).toEqual(PROBES.map(tableRow));
  });

  it('the daemon (admin token) still reads the admin token and its database records', async () => {
    const { databases } = await admin.query({ databases: { task: {} } });
    expect(databases.find((d) => d.id === world.databases.a)?.adminToken).toBe(world.adminTokens.a);
  });
});
