import { describe, expect, it } from 'vitest';
import { parseRecord } from '../../src/store/records.js';

const unset = {
  detachedAt: null,
  templateHash: null,
  readyAt: null,
  createdVia: 'server-id',
  firstAttemptAt: null,
  apiUri: null,
  ownerId: null,
  originIterationId: null,
  retryHonouredAt: null,
  lastBackupAt: null,
  entityCount: null,
  sizeBytes: null,
};
const written = {
  id: 'r1',
  taskId: 't1',
  name: 'calm-red-heron',
  status: 'provisioning',
  attempts: 1,
  createdAt: 1_000,
  leaseOwner: 'host/1/abc',
  leaseExpiresAt: 61_000,
  generation: 2,
};

describe('parseRecord', () => {
  it('reads a record as the daemon writes it, dropping fields it does not need (the admin token above all)', () => {
    expect(parseRecord({ ...written, adminToken: 'secret', readyAt: 5, extra: 1 })).toEqual({
      ...written,
      ...unset,
      readyAt: 5,
      instantAppId: null,
      error: null,
    });
    expect(
      parseRecord({ ...written, status: 'detached', detachedAt: 9_000, templateHash: 'abc', instantAppId: 'a1' }),
    ).toEqual({
      ...written,
      ...unset,
      status: 'detached',
      detachedAt: 9_000,
      templateHash: 'abc',
      instantAppId: 'a1',
      error: null,
    });
    expect(parseRecord({ ...written, status: 'ready', instantAppId: 'a1', error: null, leaseOwner: null })).toEqual({
      ...written,
      status: 'ready',
      instantAppId: 'a1',
      error: null,
      leaseOwner: null,
      ...unset,
    });
  });

  it('reads the last backup and its figures, as a number or a date string', () => {
    const backup = { lastBackupAt: 7_000, entityCount: 1_234, sizeBytes: 56_789 };
    expect(parseRecord({ ...written, status: 'ready', ...backup })).toMatchObject(backup);
    expect(
      parseRecord({ ...written, status: 'ready', ...backup, lastBackupAt: '1970-01-01T00:00:07.000Z' }),
    ).toMatchObject(backup);
    expect(parseRecord({ ...written, lastBackupAt: 'never', entityCount: 'many' })).toMatchObject({
      lastBackupAt: null,
      entityCount: null,
    });
  });

  it('defaults missing optional fields', () => {
    expect(parseRecord({ id: 'r1', taskId: 't1', name: 'n', status: 'provisioning', createdAt: 5 })).toEqual({
      id: 'r1',
      taskId: 't1',
      name: 'n',
      status: 'provisioning',
      instantAppId: null,
      attempts: 0,
      error: null,
      createdAt: 5,
      leaseOwner: null,
      leaseExpiresAt: null,
      generation: 0,
      ...unset,
    });
  });

  it('still reads records edited by hand into wrong types, so they can be repaired', () => {
    expect(
      parseRecord({
        ...written,
        status: 7,
        attempts: 'two',
        createdAt: '1970-01-01T00:00:01.000Z',
        leaseOwner: 42,
        leaseExpiresAt: 'soon',
        generation: null,
        instantAppId: {},
      }),
    ).toEqual({
      ...written,
      status: '7',
      attempts: 0,
      createdAt: 1_000,
      leaseOwner: null,
      leaseExpiresAt: null,
      generation: 0,
      instantAppId: null,
      error: null,
      ...unset,
    });
    expect(parseRecord({ ...written, detachedAt: 'yesterday', templateHash: 5 })).toMatchObject(unset);
    expect(parseRecord({ ...written, createdAt: 'not a date' })).toMatchObject({ createdAt: 0 });
    expect(parseRecord({ ...written, createdAt: undefined })).toMatchObject({ createdAt: 0 });
  });

  it('reads how the app was made: chosen-id only when it says so, server-id for older records', () => {
    expect(parseRecord({ ...written, createdVia: 'chosen-id', firstAttemptAt: 2_000 })).toMatchObject({
      createdVia: 'chosen-id',
      firstAttemptAt: 2_000,
    });
    expect(parseRecord({ ...written })).toMatchObject({ createdVia: 'server-id', firstAttemptAt: null });
    expect(parseRecord({ ...written, createdVia: 3, firstAttemptAt: 'soon' })).toMatchObject({
      createdVia: 'server-id',
      firstAttemptAt: null,
    });
  });

  it('refuses what lacks the fields every record has', () => {
    expect(parseRecord(null)).toBeNull();
    expect(parseRecord('r1')).toBeNull();
    expect(parseRecord({ ...written, taskId: undefined })).toBeNull();
    expect(parseRecord({ ...written, name: 3 })).toBeNull();
  });
});
