/** Admin tokens sealed at rest (PROVISIONER_TOKEN_KEY) and re-sealed by rotate-token-key, through the built CLI. */
import { createCipheriv, randomBytes } from 'node:crypto';
import { init } from '@instantdb/admin';
import { afterEach, describe, expect, it } from 'vitest';
import { openAdminToken, parseTokenKey } from '../../src/index.js';
import { createTasks, runCli, world, type World } from './helpers.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

const newKey = () => randomBytes(32).toString('base64');

async function storedTokens(w: World): Promise<Array<{ id: string; appId: string; stored: string }>> {
  const { databases } = await w.db.query({ databases: {} });
  return databases.map((record) => ({ id: record.id, appId: record.instantAppId!, stored: record.adminToken! }));
}

/** An envelope as the first version wrote it, bound to no record (additional data `v1:<keyId>`). */
function sealV1(token: string, keyText: string, keyId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(keyText, 'base64'), iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(`v1:${keyId}`, 'utf8'));
  const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return ['v1', keyId, iv.toString('base64url'), sealed.toString('base64url')].join(':');
}

/** The token really opens its app: the admin SDK's query is refused with a wrong one. */
async function opensItsApp(w: World, appId: string, token: string): Promise<boolean> {
  const db = init({ appId, adminToken: token, apiURI: w.sandbox.url });
  try {
    await db.query({ anything: {} });
    return true;
  } catch {
    return false;
  }
}

describe('admin tokens sealed at rest', () => {
  it('stores envelopes under the configured key; rotate-token-key re-seals old and plain ones, resumably', async () => {
    const w = (current = await world());
    const first = newKey();
    const second = newKey();
    const output: string[] = [];
    const run = async (args: string[], env: Record<string, string>) => {
      const result = await runCli(args, { ...w.env, ...env });
      output.push(result.stdout, result.stderr);
      return result;
    };

    await createTasks(w.db, 2);
    expect(
      (await run(['reconcile', '--once'], { PROVISIONER_TOKEN_KEY: first, PROVISIONER_TOKEN_KEY_ID: 'k1' })).code,
    ).toBe(0);
    const sealed = await storedTokens(w);
    expect(sealed).toHaveLength(2);
    for (const { id, appId, stored } of sealed) {
      expect(stored).toMatch(/^v2:k1:/);
      expect(await opensItsApp(w, appId, stored)).toBe(false);
      expect(await opensItsApp(w, appId, openAdminToken(stored, id, parseTokenKey(first, 'k1')))).toBe(true);
    }
    // Bound to its record: the other record's envelope does not open under this record's id.
    expect(() => openAdminToken(sealed[0]!.stored, sealed[1]!.id, parseTokenKey(first, 'k1'))).toThrow(
      /sealed for another record/,
    );
    // One record as the first version of sealing left it: a v1 envelope, bound to no record.
    const old = sealed[0]!;
    const oldToken = openAdminToken(old.stored, old.id, parseTokenKey(first, 'k1'));
    await w.db.transact(w.db.tx.databases[old.id]!.update({ adminToken: sealV1(oldToken, first, 'k1') }));

    // A record written before sealing was turned on.
    await createTasks(w.db, 1);
    expect((await run(['reconcile', '--once'], {})).code).toBe(0);
    expect((await storedTokens(w)).filter(({ stored }) => !/^v[12]:/.test(stored))).toHaveLength(1);

    const rotateEnv = {
      PROVISIONER_TOKEN_KEY: second,
      PROVISIONER_TOKEN_KEY_ID: 'k2',
      PROVISIONER_PREVIOUS_TOKEN_KEYS: `k1=${first}`,
    };
    const rotated = await run(['rotate-token-key'], rotateEnv);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain('3 resealed, 0 already under the current key, 0 failed');
    const rotatedTokens = await storedTokens(w);
    expect(rotatedTokens).toHaveLength(3);
    for (const { id, appId, stored } of rotatedTokens) {
      expect(stored).toMatch(/^v2:k2:/);
      expect(await opensItsApp(w, appId, openAdminToken(stored, id, { k2: second }))).toBe(true);
      const elsewhere = rotatedTokens.find((other) => other.id !== id)!.id;
      expect(() => openAdminToken(stored, elsewhere, { k2: second })).toThrow(/sealed for another record/);
    }
    const again = await run(['rotate-token-key'], rotateEnv);
    expect(again.stdout).toContain('0 resealed, 3 already under the current key, 0 failed');

    // Envelopes under a key that is not given cannot be opened: reported, left as they are, exit 1.
    const before = await storedTokens(w);
    const lost = await run(['rotate-token-key'], { PROVISIONER_TOKEN_KEY: newKey(), PROVISIONER_TOKEN_KEY_ID: 'k3' });
    expect(lost.code).toBe(1);
    expect(lost.stdout).toContain('0 resealed, 0 already under the current key, 3 failed');
    expect(lost.stdout).toContain('names key id "k2", which is not among the keys given (k3)');
    expect(await storedTokens(w)).toEqual(before);

    // No key and no token text in any output.
    const all = output.join('\n');
    expect(all).not.toContain(first);
    expect(all).not.toContain(second);
    for (const { id, stored } of before) expect(all).not.toContain(openAdminToken(stored, id, { k2: second }));
  });

  it('a bad key is a configuration error that names the variable, not the key', async () => {
    const w = (current = await world());
    const badKey = randomBytes(16).toString('base64');
    const result = await runCli(['reconcile', '--once'], { ...w.env, PROVISIONER_TOKEN_KEY: badKey });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PROVISIONER_TOKEN_KEY');
    expect(result.stderr).toContain('16 bytes, not 32');
    expect(result.stderr).not.toContain(badKey);
  });
});
