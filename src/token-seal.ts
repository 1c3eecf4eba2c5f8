/**
 * Admin tokens sealed at rest. With `PROVISIONER_TOKEN_KEY` set, the daemon stores each database's
 * admin token as an AES-256-GCM envelope instead of the token itself:
 *
 *     v2:<keyId>:<iv>:<ciphertext+tag>      (iv, ciphertext and tag in base64url, no padding)
 *
 * The key id says which key sealed it, so keys can be rotated while old envelopes stay readable.
 * The version, the key id and the id of the record that holds the token are authenticated (GCM
 * additional data), so an envelope can be neither relabelled to another key nor moved to another
 * record: it opens only with the record id it was sealed for. Envelopes of version 1 (written
 * before that binding; their additional data names only the version and key id) still open, for
 * any record; `rotate-token-key` re-seals them as v2. A value that does not start with
 * `v<digits>:` is a plain token (written before sealing was turned on; InstantDB admin tokens are
 * UUIDs) and opens as itself.
 *
 * Self-contained (only `node:crypto`), so the operator's own server can import this file alone to
 * read the tokens. No error message carries a token, a key or an envelope.
 */
import { createCipheriv, createDecipheriv, createHash, createSecretKey, KeyObject, randomBytes } from 'node:crypto';

/** A key for sealing admin tokens. Build one with {@link parseTokenKey}. */
export interface TokenKey {
  /** Names the key inside envelopes; not secret. */
  readonly id: string;
  /** The 32-byte AES key, as a KeyObject so it never shows in logs, `inspect` or JSON. */
  readonly secret: KeyObject;
}

/**
 * The keys {@link openAdminToken} may use: one key, a list, or a record from key id to a key
 * (a {@link TokenKey} with that id, or the key's base64 text).
 */
export type TokenKeys = TokenKey | readonly TokenKey[] | Readonly<Record<string, TokenKey | string>>;

/**
 * - invalid-key: a key or key id given to us is unusable (the message says why).
 * - invalid-token: the value to seal is empty or already sealed.
 * - malformed: a value claims to be a v1 or v2 envelope but is not one.
 * - unsupported-version: an envelope of a version this code does not know (written by newer code?).
 * - unknown-key: the envelope names a key id that is not among the keys given.
 * - tampered: the envelope fails authentication: altered, sealed by another key under that id, or
 *   sealed for another record.
 */
export type TokenSealErrorKind =
  'invalid-key' | 'invalid-token' | 'malformed' | 'unsupported-version' | 'unknown-key' | 'tampered';

/** Every failure of this module: one line, no secrets, classified by `kind`. */
export class TokenSealError extends Error {
  constructor(
    readonly kind: TokenSealErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'TokenSealError';
  }
}

/** The version written; v1 (not bound to a record) is still read. */
const VERSION = 'v2';
const UNBOUND_VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const VERSIONED = /^v\d+:/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const KEY_HELP = `it must be ${KEY_BYTES} random bytes in base64, e.g. from \`openssl rand -base64 32\``;

/**
 * Reads a token key: base64 (standard or URL-safe alphabet, padding optional, surrounding
 * whitespace ignored) of exactly 32 bytes.
 *
 * @param keyId names the key in envelopes: 1 to 32 of `A-Z a-z 0-9 _ -`. By default the first
 *   8 hex digits of the key's SHA-256, so different keys get different ids without configuration.
 * @throws TokenSealError (`invalid-key`) naming the problem, never the key.
 */
export function parseTokenKey(text: string, keyId?: string): TokenKey {
  const bytes = decodeKey(text);
  if (keyId !== undefined && !KEY_ID.test(keyId)) {
    throw new TokenSealError('invalid-key', 'token key id must be 1 to 32 letters, digits, "_" or "-"');
  }
  const id = keyId ?? createHash('sha256').update(bytes).digest('hex').slice(0, 8);
  return Object.freeze({ id, secret: createSecretKey(bytes) });
}

/**
 * Seals an admin token under `key` for the record `recordId` (the `databases` entity that will
 * hold it): a fresh random 12-byte IV each time, so sealing one token twice gives two different
 * envelopes.
 *
 * @throws TokenSealError (`invalid-token`) for an empty token or one already sealed.
 */
export function sealAdminToken(token: string, key: TokenKey, recordId: string): string {
  checkRecordId(recordId);
  if (typeof token !== 'string' || token === '') {
    throw new TokenSealError('invalid-token', 'admin token to seal is empty');
  }
  // Sealing an envelope again would hide it behind a second layer that no reader expects.
  if (isSealed(token)) throw new TokenSealError('invalid-token', 'admin token to seal is already sealed');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.secret, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(VERSION, key.id, recordId));
  const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return [VERSION, key.id, iv.toString('base64url'), sealed.toString('base64url')].join(':');
}

/**
 * The admin token in a record's `adminToken` value: opens an envelope with the key it names,
 * and returns a plain (never sealed) token unchanged, so it is safe to call on any record.
 *
 * @param recordId the id of the `databases` record the value was read from: an envelope opens
 *   only on the record it was sealed for (a v1 envelope, sealed before that binding, on any).
 * @throws TokenSealError: `unknown-key` when the envelope's key id is not among `keys`,
 *   `tampered` when it fails authentication (altered, or moved from another record),
 *   `malformed` / `unsupported-version` when it is not a v1 or v2 envelope, `invalid-key` when
 *   `keys` itself is unusable.
 */
export function openAdminToken(sealed: string, recordId: string, keys: TokenKeys): string {
  if (typeof sealed !== 'string') throw new TypeError(`admin token must be a string, got ${typeof sealed}`);
  checkRecordId(recordId);
  if (!isSealed(sealed)) return sealed;
  const envelope = parseEnvelope(sealed);
  const key = findKey(keys, envelope.keyId);
  const decipher = createDecipheriv('aes-256-gcm', key.secret, envelope.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(additionalData(envelope.version, envelope.keyId, recordId));
  decipher.setAuthTag(envelope.tag);
  try {
    return Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new TokenSealError(
      'tampered',
      `sealed admin token fails authentication under key id "${envelope.keyId}": ` +
        'it was altered, sealed with a different key under that id, or sealed for another record',
    );
  }
}

/**
 * True when `value` is (or claims to be) an envelope: it starts with `v<digits>:`. Such a value is
 * never usable as a token as it stands; {@link openAdminToken} opens it or says why not.
 */
export function isSealed(value: string): boolean {
  return typeof value === 'string' && VERSIONED.test(value);
}

/**
 * For `rotate-token-key`: true when `value` should be (re)sealed under `currentKey`, that is a
 * plain token, a v1 envelope (not bound to its record), or an envelope under another key id. It
 * reads the key id only, so an envelope under `currentKey`'s id but another key is not noticed
 * (ids derived from the key, the default, make that all but impossible).
 *
 * @throws TokenSealError (`malformed`, `unsupported-version`) rather than let a broken envelope be
 *   sealed as if it were a token.
 */
export function needsReseal(value: string, currentKey: TokenKey): boolean {
  if (!isSealed(value)) return true;
  const envelope = parseEnvelope(value);
  return envelope.version !== VERSION || envelope.keyId !== currentKey.id;
}

function checkRecordId(recordId: unknown): void {
  // A caller of the v1-era openAdminToken(sealed, keys) passes keys here: say so plainly.
  if (typeof recordId !== 'string' || recordId === '')
    throw new TypeError('record id must be a non-empty string: openAdminToken(value, recordId, keys)');
}

function decodeKey(text: string): Buffer {
  const trimmed = typeof text === 'string' ? text.trim() : '';
  if (trimmed === '') throw new TokenSealError('invalid-key', `token key is empty; ${KEY_HELP}`);
  if (/^[0-9a-f]{64}$/i.test(trimmed)) {
    throw new TokenSealError('invalid-key', `token key looks like hex, not base64; ${KEY_HELP}`);
  }
  const bytes = decodeBase64(trimmed);
  if (bytes === undefined) throw new TokenSealError('invalid-key', `token key is not base64; ${KEY_HELP}`);
  if (bytes.length !== KEY_BYTES) {
    throw new TokenSealError('invalid-key', `token key is ${bytes.length} bytes, not ${KEY_BYTES}; ${KEY_HELP}`);
  }
  return bytes;
}

/** Strict base64: one alphabet, canonical (Buffer.from alone skips bad characters silently). */
function decodeBase64(text: string): Buffer | undefined {
  const match = /^(?:([A-Za-z0-9+/]+)|([A-Za-z0-9_-]+))(=*)$/.exec(text);
  if (match === null) return undefined;
  const body = match[1] ?? match[2]!;
  const padding = match[3]!;
  if (padding.length > 2 || (padding !== '' && (body.length + padding.length) % 4 !== 0)) return undefined;
  const bytes = Buffer.from(body, match[1] !== undefined ? 'base64' : 'base64url');
  // Rejects a dangling character and non-zero spare bits, which would decode to the same bytes.
  return bytes.toString('base64url') === body.replace(/\+/g, '-').replace(/\//g, '_') ? bytes : undefined;
}

interface Envelope {
  version: string;
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function parseEnvelope(value: string): Envelope {
  const version = /^(v\d+):/.exec(value)![1]!;
  if (version !== VERSION && version !== UNBOUND_VERSION) {
    throw new TokenSealError(
      'unsupported-version',
      `sealed admin token is a ${version} envelope; this code reads v1 and v2`,
    );
  }
  const malformed = (why: string) => new TokenSealError('malformed', `sealed admin token is malformed: ${why}`);
  const parts = value.split(':');
  if (parts.length !== 4) throw malformed(`it has ${parts.length} parts, not 4 (${version}:keyId:iv:ciphertext)`);
  const [, keyId, ivText, sealedText] = parts as [string, string, string, string];
  if (!KEY_ID.test(keyId)) throw malformed('the key id is not 1 to 32 letters, digits, "_" or "-"');
  const iv = decodeBase64url(ivText);
  if (iv === undefined || iv.length !== IV_BYTES) throw malformed(`the iv is not ${IV_BYTES} bytes of base64url`);
  const sealed = decodeBase64url(sealedText);
  if (sealed === undefined || sealed.length <= TAG_BYTES) {
    throw malformed(`the ciphertext is not base64url of more than a ${TAG_BYTES}-byte tag`);
  }
  return {
    version,
    keyId,
    iv,
    ciphertext: sealed.subarray(0, sealed.length - TAG_BYTES),
    tag: sealed.subarray(sealed.length - TAG_BYTES),
  };
}

function decodeBase64url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

/** Binds the version, the key id and (from v2 on) the record id to the ciphertext. */
function additionalData(version: string, keyId: string, recordId: string): Buffer {
  const bound = version === UNBOUND_VERSION ? [version, keyId] : [version, keyId, recordId];
  return Buffer.from(bound.join(':'), 'utf8');
}

function findKey(keys: TokenKeys, keyId: string): TokenKey {
  if (isTokenKey(keys)) return keys.id === keyId ? keys : unknownKey(keyId, [keys.id]);
  if (Array.isArray(keys)) {
    const list = keys as readonly TokenKey[];
    const matches = list.filter((key) => key.id === keyId);
    if (matches.length > 1) throw new TokenSealError('invalid-key', `two token keys are given with id "${keyId}"`);
    return (
      matches[0] ??
      unknownKey(
        keyId,
        list.map((key) => key.id),
      )
    );
  }
  const record = keys as Readonly<Record<string, TokenKey | string>>;
  if (!Object.hasOwn(record, keyId)) return unknownKey(keyId, Object.keys(record));
  const entry = record[keyId]!;
  if (typeof entry === 'string') {
    try {
      return parseTokenKey(entry, keyId);
    } catch (error) {
      if (error instanceof TokenSealError) throw new TokenSealError(error.kind, `key id "${keyId}": ${error.message}`);
      throw error;
    }
  }
  if (isTokenKey(entry) && entry.id === keyId) return entry;
  throw new TokenSealError('invalid-key', `the token key given under id "${keyId}" is not a key with that id`);
}

function unknownKey(keyId: string, known: string[]): never {
  throw new TokenSealError(
    'unknown-key',
    `sealed admin token names key id "${keyId}", which is not among the keys given (${known.join(', ') || 'none'})`,
  );
}

function isTokenKey(value: unknown): value is TokenKey {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as TokenKey).id === 'string' &&
    (value as TokenKey).secret instanceof KeyObject
  );
}
