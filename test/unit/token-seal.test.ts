import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  isSealed,
  needsReseal,
  openAdminToken,
  parseTokenKey,
  sealAdminToken,
  TokenSealError,
  type TokenKey,
  type TokenSealErrorKind,
} from '../../src/token-seal.js';

// Fixed keys, so a failure reproduces; both have "+" or "/" in their base64.
const KEY_TEXT = createHash('sha256').update('key one').digest('base64');
const OTHER_KEY_TEXT = createHash('sha256').update('key two').digest('base64');
const TOKEN = '5f0c8a7e-3b1d-4c2a-9e6f-0a1b2c3d4e5f';
/** The `databases` record the token is sealed for. */
const RECORD = '0c6d2f4e-8a1b-4c3d-9e5f-112233445566';
const OTHER_RECORD = '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d';

/** An envelope as the v1 code wrote it: additional data `v1:<keyId>`, not bound to a record. */
function sealV1(token: string, key: TokenKey): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.secret, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(`v1:${key.id}`, 'utf8'));
  const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return ['v1', key.id, iv.toString('base64url'), sealed.toString('base64url')].join(':');
}

/** The error `fn` throws, which must be a TokenSealError. */
function failure(fn: () => unknown): TokenSealError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TokenSealError) return error;
    throw error;
  }
  throw new Error('expected a TokenSealError, but nothing was thrown');
}

function kindOf(fn: () => unknown): TokenSealErrorKind {
  return failure(fn).kind;
}

/** `envelope` with one of its parts (1 key id, 2 iv, 3 ciphertext+tag) changed. */
function alter(envelope: string, part: 1 | 2 | 3, change: (bytes: Buffer) => void): string {
  const parts = envelope.split(':');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  change(bytes);
  parts[part] = bytes.toString('base64url');
  return parts.join(':');
}

describe('parseTokenKey', () => {
  it('reads 32 bytes of base64, either alphabet, padded or not, ignoring surrounding whitespace', () => {
    const bytes = Buffer.alloc(32, 0xfb); // all 0xfb: "+" and "/" in base64, "-" and "_" in base64url
    const standard = bytes.toString('base64');
    expect(standard).toMatch(/[+/]/);
    const ids = [standard, standard.replace(/=+$/, ''), bytes.toString('base64url'), `  ${standard}\n`].map(
      (text) => parseTokenKey(text).id,
    );
    expect(new Set(ids).size).toBe(1);
  });

  it('derives the default key id from the key (first 8 hex of its SHA-256), so two keys differ', () => {
    const bytes = Buffer.from(KEY_TEXT, 'base64');
    expect(parseTokenKey(KEY_TEXT).id).toBe(createHash('sha256').update(bytes).digest('hex').slice(0, 8));
    expect(parseTokenKey(KEY_TEXT).id).not.toBe(parseTokenKey(OTHER_KEY_TEXT).id);
  });

  it('takes a key id of 1 to 32 letters, digits, _ or -', () => {
    expect(parseTokenKey(KEY_TEXT, 'k').id).toBe('k');
    expect(parseTokenKey(KEY_TEXT, 'Prod_2025-01').id).toBe('Prod_2025-01');
    expect(parseTokenKey(KEY_TEXT, 'x'.repeat(32)).id).toHaveLength(32);
    for (const bad of ['', 'x'.repeat(33), 'a:b', 'a b', 'ké', 'a/b']) {
      expect(failure(() => parseTokenKey(KEY_TEXT, bad)).message).toBe(
        'token key id must be 1 to 32 letters, digits, "_" or "-"',
      );
    }
  });

  it('names the problem with a key in one line', () => {
    const help = 'it must be 32 random bytes in base64, e.g. from `openssl rand -base64 32`';
    const message = (text: string) => failure(() => parseTokenKey(text)).message;
    expect(message('')).toBe(`token key is empty; ${help}`);
    expect(message('  \n')).toBe(`token key is empty; ${help}`);
    expect(message(randomBytes(16).toString('base64'))).toBe(`token key is 16 bytes, not 32; ${help}`);
    expect(message(randomBytes(33).toString('base64'))).toBe(`token key is 33 bytes, not 32; ${help}`);
    expect(message(randomBytes(32).toString('hex'))).toBe(`token key looks like hex, not base64; ${help}`);
    expect(message('not base64 at all!')).toBe(`token key is not base64; ${help}`);
    expect(message(`${KEY_TEXT.slice(0, 20)}*${KEY_TEXT.slice(21)}`)).toBe(`token key is not base64; ${help}`);
    expect(message(KEY_TEXT.replace(/=*$/, '==='))).toBe(`token key is not base64; ${help}`); // too much padding
    expect(message(`${KEY_TEXT.replace(/=*$/, '')}AA`)).toBe(`token key is not base64; ${help}`); // dangling character
    // Non-zero spare bits: decodes to the same bytes as the canonical text, so it is a typo.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const unpadded = KEY_TEXT.replace(/=*$/, '');
    const spare = unpadded.slice(0, -1) + alphabet[alphabet.indexOf(unpadded.at(-1)!) ^ 1];
    expect(Buffer.from(spare, 'base64')).toEqual(Buffer.from(KEY_TEXT, 'base64'));
    expect(message(spare)).toBe(`token key is not base64; ${help}`);
    expect(message(`${KEY_TEXT.slice(0, 10)}-_${KEY_TEXT.slice(12)}`.replace(/[A-Za-z]/, '+'))).toBe(
      `token key is not base64; ${help}`,
    ); // both alphabets mixed
  });

  it('never shows the key bytes when printed or serialised', () => {
    const key = parseTokenKey(KEY_TEXT, 'k1');
    const hex = Buffer.from(KEY_TEXT, 'base64').toString('hex');
    for (const shown of [inspect(key, { depth: 5, showHidden: true }), JSON.stringify(key), String(key)]) {
      expect(shown).not.toContain(KEY_TEXT.replace(/=*$/, ''));
      expect(shown).not.toContain(hex);
    }
  });
});

describe('sealAdminToken and openAdminToken', () => {
  const key = parseTokenKey(KEY_TEXT, 'k1');
  const other = parseTokenKey(OTHER_KEY_TEXT, 'k2');

  it('round-trip a token, and the envelope is v2:<keyId>:<iv>:<ciphertext+tag>', () => {
    for (const token of [TOKEN, 'x', 'ünïcødé ✓ token', 'a:b:c', 'y'.repeat(5_000)]) {
      const sealed = sealAdminToken(token, key, RECORD);
      expect(sealed).toMatch(/^v2:k1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
      if (token.length >= 8) expect(sealed).not.toContain(token); // a short one may turn up by chance
      expect(Buffer.from(sealed.split(':')[3]!, 'base64url')).toHaveLength(Buffer.byteLength(token) + 16);
      expect(openAdminToken(sealed, RECORD, key)).toBe(token);
    }
  });

  it('uses a fresh IV each time: two seals of one token differ', () => {
    const seals = Array.from({ length: 50 }, () => sealAdminToken(TOKEN, key, RECORD));
    expect(new Set(seals).size).toBe(50);
    expect(new Set(seals.map((sealed) => sealed.split(':')[2])).size).toBe(50);
    expect(seals.map((sealed) => openAdminToken(sealed, RECORD, key))).toEqual(Array(50).fill(TOKEN));
  });

  it('passes a plain (never sealed) token through unchanged', () => {
    for (const plain of [TOKEN, '', 'abc:def', 'v:1', 'V1:k1:x:y', ' v1:k1:x:y', 'version1']) {
      expect(openAdminToken(plain, RECORD, key)).toBe(plain);
      expect(isSealed(plain)).toBe(false);
    }
  });

  it('picks the key by id from a list or a record (keys or their base64 text)', () => {
    const one = sealAdminToken(TOKEN, key, RECORD);
    const two = sealAdminToken('second', other, RECORD);
    for (const keys of [[key, other], [other, key], { k1: key, k2: other }, { k1: KEY_TEXT, k2: OTHER_KEY_TEXT }]) {
      expect(openAdminToken(one, RECORD, keys)).toBe(TOKEN);
      expect(openAdminToken(two, RECORD, keys)).toBe('second');
    }
  });

  it('refuses an unknown key id, naming it and the ids it has', () => {
    const sealed = sealAdminToken(TOKEN, other, RECORD);
    for (const keys of [key, [key], { k1: key }, { k1: KEY_TEXT }]) {
      const error = failure(() => openAdminToken(sealed, RECORD, keys));
      expect(error.kind).toBe('unknown-key');
      expect(error.message).toBe('sealed admin token names key id "k2", which is not among the keys given (k1)');
    }
    expect(failure(() => openAdminToken(sealed, RECORD, [])).message).toContain('(none)');
    // Not the record's prototype either.
    expect(
      kindOf(() => openAdminToken(sealAdminToken(TOKEN, parseTokenKey(KEY_TEXT, 'toString'), RECORD), RECORD, {})),
    ).toBe('unknown-key');
  });

  it('refuses a token sealed by another key under the same id', () => {
    const impostor = parseTokenKey(OTHER_KEY_TEXT, 'k1');
    const error = failure(() => openAdminToken(sealAdminToken(TOKEN, impostor, RECORD), RECORD, key));
    expect(error.kind).toBe('tampered');
    expect(error.message).toBe(
      'sealed admin token fails authentication under key id "k1": it was altered, sealed with a different key under that id, or sealed for another record',
    );
  });

  it('detects a changed ciphertext, tag or iv', () => {
    const sealed = sealAdminToken(TOKEN, key, RECORD);
    const changed = [
      alter(sealed, 3, (bytes) => void (bytes[0]! ^= 0x01)), // first ciphertext byte
      alter(sealed, 3, (bytes) => void (bytes[bytes.length - 1]! ^= 0x80)), // last tag byte
      alter(sealed, 3, (bytes) => void (bytes[bytes.length - 17]! ^= 0x01)), // last ciphertext byte
      alter(sealed, 2, (bytes) => void (bytes[5]! ^= 0x01)),
    ];
    for (const value of changed) {
      expect(value).not.toBe(sealed);
      expect(kindOf(() => openAdminToken(value, RECORD, key))).toBe('tampered');
    }
    // A shortened ciphertext (the tag moves): still well formed, and still caught.
    const parts = sealed.split(':');
    const shorter = Buffer.from(parts[3]!, 'base64url').subarray(1).toString('base64url');
    expect(kindOf(() => openAdminToken([...parts.slice(0, 3), shorter].join(':'), RECORD, key))).toBe('tampered');
  });

  it('detects a relabelled key id, even to an id holding the very same key', () => {
    const sameKeyOtherId = parseTokenKey(KEY_TEXT, 'k9');
    const relabelled = sealAdminToken(TOKEN, key, RECORD).replace(/^v2:k1:/, 'v2:k9:');
    expect(kindOf(() => openAdminToken(relabelled, RECORD, [key, sameKeyOtherId]))).toBe('tampered');
    const toOther = sealAdminToken(TOKEN, key, RECORD).replace(/^v2:k1:/, 'v2:k2:');
    expect(kindOf(() => openAdminToken(toOther, RECORD, [key, other]))).toBe('tampered');
  });

  it('refuses an envelope of another version rather than pass it through as a token', () => {
    const sealed = sealAdminToken(TOKEN, key, RECORD);
    const error = failure(() => openAdminToken(sealed.replace(/^v2:/, 'v3:'), RECORD, key));
    expect(error.kind).toBe('unsupported-version');
    expect(error.message).toBe('sealed admin token is a v3 envelope; this code reads v1 and v2');
    expect(isSealed(sealed.replace(/^v2:/, 'v10:'))).toBe(true);
  });

  it('binds an envelope to its record: moved to another record it fails to open', () => {
    const sealed = sealAdminToken(TOKEN, key, RECORD);
    expect(openAdminToken(sealed, RECORD, key)).toBe(TOKEN);
    expect(kindOf(() => openAdminToken(sealed, OTHER_RECORD, key))).toBe('tampered');
    // Nor can it pass for an unbound v1 envelope, which would open anywhere.
    expect(kindOf(() => openAdminToken(sealed.replace(/^v2:/, 'v1:'), OTHER_RECORD, key))).toBe('tampered');
  });

  it('still opens a v1 envelope (sealed before the binding), on any record', () => {
    const old = sealV1(TOKEN, key);
    expect(openAdminToken(old, RECORD, key)).toBe(TOKEN);
    expect(openAdminToken(old, OTHER_RECORD, { k1: KEY_TEXT })).toBe(TOKEN);
    expect(
      kindOf(() =>
        openAdminToken(
          alter(old, 3, (bytes) => void (bytes[0]! ^= 1)),
          RECORD,
          key,
        ),
      ),
    ).toBe('tampered');
  });

  it('needs a record id to seal or open, and says so to a caller of the old two-argument form', () => {
    const sealed = sealAdminToken(TOKEN, key, RECORD);
    const oldCall = () => (openAdminToken as unknown as (value: string, keys: TokenKey) => string)(sealed, key);
    expect(oldCall).toThrow(
      new TypeError('record id must be a non-empty string: openAdminToken(value, recordId, keys)'),
    );
    expect(() => sealAdminToken(TOKEN, key, '')).toThrow(TypeError);
  });

  it('refuses a malformed v1 envelope, saying what is wrong', () => {
    const [, , iv, body] = sealAdminToken(TOKEN, key, RECORD).split(':') as [string, string, string, string];
    // v1 here: the envelopes this code still reads but no longer writes are checked just as closely.
    const cases: Array<[string, string]> = [
      ['v1:', 'it has 2 parts, not 4 (v1:keyId:iv:ciphertext)'],
      ['v1:k1:abc', 'it has 3 parts, not 4 (v1:keyId:iv:ciphertext)'],
      [`v1:k1:${iv}:${body}:extra`, 'it has 5 parts, not 4 (v1:keyId:iv:ciphertext)'],
      [`v1::${iv}:${body}`, 'the key id is not 1 to 32 letters, digits, "_" or "-"'],
      [`v1:k.1:${iv}:${body}`, 'the key id is not 1 to 32 letters, digits, "_" or "-"'],
      [`v1:k1:${iv.slice(0, 12)}:${body}`, 'the iv is not 12 bytes of base64url'],
      [`v1:k1:${iv}AAAA:${body}`, 'the iv is not 12 bytes of base64url'],
      [`v1:k1:${iv.slice(0, 15)}+:${body}`, 'the iv is not 12 bytes of base64url'],
      [`v1:k1:${iv}:`, 'the ciphertext is not base64url of more than a 16-byte tag'],
      [`v1:k1:${iv}:${body.slice(0, 21)}`, 'the ciphertext is not base64url of more than a 16-byte tag'],
      [`v1:k1:${iv}:${body}=`, 'the ciphertext is not base64url of more than a 16-byte tag'],
      [
        `v1:k1:${iv}:${body.slice(0, 10)}/${body.slice(11)}`,
        'the ciphertext is not base64url of more than a 16-byte tag',
      ],
    ];
    for (const [value, why] of cases) {
      const error = failure(() => openAdminToken(value, RECORD, key));
      expect(error.kind).toBe('malformed');
      expect(error.message).toBe(`sealed admin token is malformed: ${why}`);
    }
  });

  it('refuses to seal an empty or already sealed token', () => {
    expect(failure(() => sealAdminToken('', key, RECORD)).message).toBe('admin token to seal is empty');
    const sealed = sealAdminToken(TOKEN, key, RECORD);
    expect(failure(() => sealAdminToken(sealed, other, RECORD)).message).toBe('admin token to seal is already sealed');
  });

  it('refuses a key set it cannot use', () => {
    const sealed = sealAdminToken(TOKEN, key, RECORD);
    const twice = failure(() => openAdminToken(sealed, RECORD, [key, parseTokenKey(OTHER_KEY_TEXT, 'k1')]));
    expect([twice.kind, twice.message]).toEqual(['invalid-key', 'two token keys are given with id "k1"']);
    const misfiled = failure(() => openAdminToken(sealed, RECORD, { k1: other }));
    expect([misfiled.kind, misfiled.message]).toEqual([
      'invalid-key',
      'the token key given under id "k1" is not a key with that id',
    ]);
    const badText = failure(() => openAdminToken(sealed, RECORD, { k1: 'short' }));
    expect(badText.kind).toBe('invalid-key');
    expect(badText.message).toMatch(/^key id "k1": token key is /);
  });

  it('refuses a value that is not a string instead of returning it', () => {
    expect(() => openAdminToken(undefined as unknown as string, RECORD, key)).toThrow(
      new TypeError('admin token must be a string, got undefined'),
    );
  });
});

describe('needsReseal', () => {
  const current = parseTokenKey(KEY_TEXT, 'new');
  const previous = parseTokenKey(OTHER_KEY_TEXT, 'old');

  it('is true for plain tokens, unbound (v1) envelopes and envelopes under another key id, false under the current one', () => {
    expect(needsReseal(TOKEN, current)).toBe(true);
    expect(needsReseal(sealV1(TOKEN, current), current)).toBe(true);
    expect(needsReseal(sealAdminToken(TOKEN, previous, RECORD), current)).toBe(true);
    expect(needsReseal(sealAdminToken(TOKEN, current, RECORD), current)).toBe(false);
  });

  it('refuses a broken envelope rather than have it sealed as a token', () => {
    expect(kindOf(() => needsReseal('v1:new:zz', current))).toBe('malformed');
    expect(kindOf(() => needsReseal('v3:new:a:b', current))).toBe('unsupported-version');
  });
});

describe('errors', () => {
  it('are single lines that hold no key, token or envelope', () => {
    const key: TokenKey = parseTokenKey(KEY_TEXT, 'k1');
    const sealed = sealAdminToken(TOKEN, key, RECORD);
    const [, , iv, body] = sealed.split(':') as [string, string, string, string];
    const wrongLength = randomBytes(24).toString('base64');
    const attempts: Array<() => unknown> = [
      () => parseTokenKey(wrongLength),
      () => parseTokenKey(KEY_TEXT.slice(0, 30) + '!' + KEY_TEXT.slice(31)),
      () => parseTokenKey(randomBytes(32).toString('hex')),
      () => parseTokenKey(KEY_TEXT, KEY_TEXT), // a key passed as the id by mistake
      () => openAdminToken(sealed, RECORD, parseTokenKey(OTHER_KEY_TEXT, 'k1')),
      () => openAdminToken(sealed, RECORD, parseTokenKey(OTHER_KEY_TEXT, 'k2')),
      () => openAdminToken(sealed, RECORD, { k1: wrongLength }),
      () =>
        openAdminToken(
          alter(sealed, 3, (bytes) => void (bytes[0]! ^= 1)),
          RECORD,
          key,
        ),
      () => openAdminToken(sealed, OTHER_RECORD, key),
      () => openAdminToken(`${sealed}:${TOKEN}`, RECORD, key),
      () => openAdminToken(`v1:k1:${TOKEN}:${body}`, RECORD, key),
      () => sealAdminToken(sealed, key, RECORD),
    ];
    const secrets = [KEY_TEXT, KEY_TEXT.replace(/=*$/, ''), wrongLength, TOKEN, iv, body];
    for (const attempt of attempts) {
      const { message } = failure(attempt);
      expect(message).not.toContain('\n');
      for (const secret of secrets) expect(message).not.toContain(secret);
      for (const secret of secrets) expect(message).not.toContain(secret.slice(0, 12));
    }
  });
});
