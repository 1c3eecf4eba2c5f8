import { InstantAPIError } from '@instantdb/admin';
import { describe, expect, it } from 'vitest';
import { classifyStoreError } from '../../src/store/instant-store.js';

const apiError = (status: number | undefined, body: Record<string, unknown>) =>
  new InstantAPIError({ status: status as number, body: body as never });

describe('main-app error classification', () => {
  it('tells which unique attribute refused a write', () => {
    const error = classifyStoreError(
      apiError(400, {
        type: 'record-not-unique',
        message:
          '`key` is a unique attribute on `databaseFences` and an entity already exists with `databaseFences.key` = "r/2"',
        hint: { 'record-type': 'triple', etype: 'databaseFences', label: 'key', value: '"r/2"' },
      }),
    );
    expect(error).toMatchObject({ kind: 'unique-violation', etype: 'databaseFences', label: 'key', retryable: false });
  });

  it('recognises a rejected admin token as global, without echoing the token', () => {
    const error = classifyStoreError(
      apiError(undefined, {
        type: 'record-not-found',
        message: 'Record not found: app-admin-token',
        hint: { args: [{ 'app-id': 'x', token: 'secret-admin-token' }], 'record-type': 'app-admin-token' },
      }),
    );
    expect(error).toMatchObject({ kind: 'token-rejected', scope: 'global' });
    expect(error.message).not.toContain('secret-admin-token');
  });

  it('maps missing entities, missing schema, load and outages', () => {
    expect(
      classifyStoreError(
        apiError(400, {
          type: 'validation-failed',
          message: "Validation failed for tx-step: Updating entities that don't exist: t1",
        }),
      ).kind,
    ).toBe('missing-entity');
    expect(
      classifyStoreError(
        apiError(400, {
          type: 'validation-failed',
          message: 'Validation failed for steps: Attributes are missing in your schema',
        }),
      ),
    ).toMatchObject({
      kind: 'schema-missing',
      scope: 'global',
    });
    expect(
      classifyStoreError(apiError(429, { type: 'rate-limited', message: 'slow', hint: { 'retry-after': 2 } })),
    ).toMatchObject({ kind: 'unavailable', retryAfterMs: 2_000 });
    expect(classifyStoreError(apiError(500, { type: 'unknown', message: 'Something went wrong' })).kind).toBe(
      'unavailable',
    );
    expect(classifyStoreError(new TypeError('fetch failed')).kind).toBe('unavailable');
    expect(classifyStoreError(apiError(400, { type: 'validation-failed', message: 'Invalid value type' })).kind).toBe(
      'rejected',
    );
  });
});
