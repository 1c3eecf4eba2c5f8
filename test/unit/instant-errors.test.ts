import { describe, expect, it } from 'vitest';
import { readInstantError } from '../../src/instant-errors.js';

const now = Date.UTC(2026, 11, 1);

describe('reading InstantDB error answers (one table for the store and the Platform client)', () => {
  it.each([
    [429, { type: 'rate-limited', message: 'slow down' }, 'rate-limited'],
    [503, 'Service Unavailable', 'unavailable'],
    [408, {}, 'unavailable'],
    [400, { type: 'app-creation-disabled', message: 'winding down' }, 'creation-disabled'],
    [400, { type: 'record-not-found', hint: { 'record-type': 'instant-user' } }, 'token-rejected'],
    [400, { type: 'record-not-found', hint: { 'record-type': 'app-admin-token' } }, 'token-rejected'],
    [400, { type: 'param-malformed', hint: { in: ['headers', 'authorization'] } }, 'token-rejected'],
    [400, { type: 'param-missing', hint: { in: ['headers', 'app-id'] } }, 'token-rejected'],
    [401, {}, 'token-rejected'],
    [400, { type: 'record-not-found', hint: { 'record-type': 'app' } }, 'not-found'],
    [400, { type: 'record-not-unique', hint: { 'record-type': 'apps' } }, 'unique-violation'],
    [400, { type: 'param-missing', hint: { in: ['body', 'title'] } }, 'rejected'],
    [400, { type: 'record-not-unique', hint: { etype: 'databases', label: 'name' } }, 'unique-violation'],
    [
      400,
      { type: 'validation-failed', message: "Validation failed for tx-step: Updating entities that don't exist: x" },
      'missing-entity',
    ],
    [
      400,
      { type: 'validation-failed', message: 'Validation failed for steps: Attributes are missing in your schema' },
      'schema-missing',
    ],
    [400, { type: 'permission-denied', message: 'Permission denied: not perms-pass?' }, 'permission-denied'],
    [201, {}, 'unexpected-status'],
  ])('HTTP %s %j means %s', (status, body, meaning) => {
    expect(readInstantError(status, body, now).meaning).toBe(meaning);
  });

  it('recovers the status of a refused subscription from the type (the SDK loses it)', () => {
    expect(readInstantError(undefined, { type: 'rate-limited' }, now).meaning).toBe('rate-limited');
    expect(
      readInstantError(undefined, { type: 'record-not-found', hint: { 'record-type': 'app-admin-token' } }, now)
        .meaning,
    ).toBe('token-rejected');
    expect(readInstantError(undefined, { message: 'boom' }, now).meaning).toBe('unavailable');
  });

  it('reads the wait from the Retry-After header, as seconds or a date, else from the hint; capped at an hour', () => {
    expect(readInstantError(429, {}, now, '2').retryAfterMs).toBe(2_000);
    expect(readInstantError(429, {}, now, new Date(now + 5_000).toUTCString()).retryAfterMs).toBe(5_000);
    expect(readInstantError(429, { hint: { 'retry-after': 3 } }, now).retryAfterMs).toBe(3_000);
    expect(readInstantError(429, {}, now, '86400').retryAfterMs).toBe(3_600_000);
    expect(readInstantError(429, {}, now).retryAfterMs).toBeUndefined();
  });

  it('describes an error by its type and message only, never the hint, and not an HTML page', () => {
    const info = readInstantError(
      400,
      {
        type: 'record-not-found',
        message: 'Record not found: app-admin-token',
        hint: { args: [{ token: 'secret-token' }] },
      },
      now,
    );
    expect(info.detail).toBe('record-not-found: Record not found: app-admin-token');
    expect(readInstantError(502, '<html>502 Bad Gateway secret-token</html>', now).detail).toBe('HTTP 502');
  });
});
