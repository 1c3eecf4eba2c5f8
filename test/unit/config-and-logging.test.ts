import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_API_URI, hasCredentials, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

const env = {
  INSTANT_APP_ID: '11111111-1111-4111-8111-111111111111',
  INSTANT_ADMIN_TOKEN: 'admin-token',
  INSTANT_PLATFORM_TOKEN: 'per_platform',
};

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('config', () => {
  it('reads the environment, with defaults', () => {
    expect(loadConfig(env)).toMatchObject({
      appId: env.INSTANT_APP_ID,
      adminToken: 'admin-token',
      platformToken: 'per_platform',
      apiUri: DEFAULT_API_URI,
      concurrency: 4,
      requestTimeoutMs: 15_000,
      leaseMs: 60_000,
      resyncIntervalMs: 300_000,
    });
  });

  it('accepts the aliases other tools use, and flags override', () => {
    const config = loadConfig(
      {
        NEXT_PUBLIC_INSTANT_APP_ID: env.INSTANT_APP_ID,
        INSTANT_APP_ADMIN_TOKEN: 'a',
        PLATFORM_TOKEN: 'p',
        INSTANT_API_URI: 'http://instant.internal:8888',
        PROVISIONER_CONCURRENCY: '8',
      },
      { concurrency: '16', apiUri: 'https://instant.example.com' },
    );
    expect(config).toMatchObject({
      adminToken: 'a',
      platformToken: 'p',
      apiUri: 'https://instant.example.com',
      concurrency: 16,
    });
  });

  it('names every missing variable, with its aliases', () => {
    expect(problems(() => loadConfig({}))).toEqual([
      'INSTANT_APP_ID is not set (also accepted: NEXT_PUBLIC_INSTANT_APP_ID); set it in the environment, in .env, or with --app-id',
      'INSTANT_ADMIN_TOKEN is not set (also accepted: INSTANT_APP_ADMIN_TOKEN); set it in the environment, in .env, or with --admin-token',
      'INSTANT_PLATFORM_TOKEN is not set (also accepted: PLATFORM_TOKEN); set it in the environment, in .env, or with --platform-token',
    ]);
  });

  it('names the flag or variable of a malformed value', () => {
    expect(problems(() => loadConfig(env, { concurrency: 'abc' }))).toEqual([
      '--concurrency must be a whole number ≥ 1 (got "abc")',
    ]);
    expect(problems(() => loadConfig(env, { concurrency: '0' }))).toEqual([
      '--concurrency must be a whole number ≥ 1 (got "0")',
    ]);
    expect(problems(() => loadConfig({ ...env, PROVISIONER_CONCURRENCY: '2.5' }))).toEqual([
      'PROVISIONER_CONCURRENCY must be a whole number ≥ 1 (got "2.5")',
    ]);
    expect(problems(() => loadConfig({ ...env, INSTANT_APP_ID: 'my-app' }))).toEqual([
      'INSTANT_APP_ID must be a UUID (the app id from the dashboard) (got "my-app")',
    ]);
    expect(problems(() => loadConfig({ ...env, INSTANT_API_URI: 'ftp://x' }))).toEqual([
      'INSTANT_API_URI must be an http(s) URL (got "ftp://x")',
    ]);
    expect(problems(() => loadConfig(env, { logLevel: 'loud' }))[0]).toMatch(/^--log-level must be one of/);
  });

  it('refuses a lease too short to cover a create', () => {
    expect(
      problems(() => loadConfig(env, { lease: '10000', requestTimeout: '8000', settleMargin: '5000' }))[0],
    ).toMatch(/^--lease must be longer than --request-timeout \+ --settle-margin/);
  });

  it('reads durations with units, as people write them', () => {
    expect(
      loadConfig(env, { deleteGrace: '30d', resyncInterval: '5m', requestTimeout: '15s', settleMargin: '500ms' }),
    ).toMatchObject({
      deleteGraceMs: 30 * 86_400_000,
      resyncIntervalMs: 300_000,
      requestTimeoutMs: 15_000,
      settleMarginMs: 500,
    });
    expect(loadConfig({ ...env, PROVISIONER_GIVE_UP_AFTER: '2h' })).toMatchObject({ giveUpAfterMs: 7_200_000 });
    expect(loadConfig(env)).toMatchObject({ giveUpAfterMs: 3_600_000, createVia: 'auto' });
    expect(loadConfig(env).maxAttempts).toBeUndefined();
    expect(problems(() => loadConfig(env, { deleteGrace: '3 weeks' }))[0]).toMatch(
      /^--delete-grace must be a duration/,
    );
    expect(problems(() => loadConfig(env, { resyncInterval: '10' }))[0]).toMatch(
      /^--resync-interval must be at least 1000 ms/,
    );
  });

  it('reads the create path and the organisation, naming a bad value', () => {
    const orgId = '22222222-2222-4222-8222-222222222222';
    expect(loadConfig({ ...env, PROVISIONER_CREATE_VIA: 'chosen-id', INSTANT_ORG_ID: orgId })).toMatchObject({
      createVia: 'chosen-id',
      orgId,
    });
    expect(problems(() => loadConfig(env, { createVia: 'cloud' }))).toEqual([
      '--create-via must be auto, chosen-id or server-id (got "cloud")',
    ]);
    expect(problems(() => loadConfig({ ...env, INSTANT_ORG_ID: 'acme' }))[0]).toMatch(/^INSTANT_ORG_ID must be a UUID/);
  });

  it('knows whether any credential is present', () => {
    expect(hasCredentials({})).toBe(false);
    expect(hasCredentials({ PLATFORM_TOKEN: ' ' })).toBe(false);
    expect(hasCredentials({ PLATFORM_TOKEN: 'x' })).toBe(true);
  });
});

describe('logger', () => {
  function capture() {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        callback();
      },
    });
    return { lines, destination };
  }

  it('never prints a token: not under token-like keys, not inside strings, not in errors', () => {
    const { lines, destination } = capture();
    const logger = createLogger({
      level: 'info',
      pretty: false,
      secrets: ['main-admin-secret', 'per_platform-secret'],
      destination,
    });
    logger
      .child({ adminToken: 'abc' })
      .info(
        { appId: 'app-1', token: 'zzz', nested: { 'admin-token': 'qqq', list: ['per_platform-secret'] } },
        'created',
      );
    logger.error(
      { error: new Error('Record not found: app-admin-token main-admin-secret') },
      'rejected main-admin-secret',
    );
    logger.warn({ hint: { args: [{ token: 'main-admin-secret', 'app-id': 'x' }] } }, 'body');
    const text = lines.join('\n');
    expect(text).not.toMatch(/main-admin-secret|per_platform-secret|abc|zzz|qqq/);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'created', appId: 'app-1', token: '[redacted]' });
    expect(JSON.parse(lines[1]!).error).toEqual({
      type: 'Error',
      message: 'Record not found: app-admin-token [redacted]',
    });
    expect(lines).toHaveLength(3);
  });

  it('scrubs short secrets too, and a secret inside a longer one whole', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', pretty: false, secrets: ['k9x', 'k9x-long-secret'], destination });
    logger.info({ detail: 'got k9x-long-secret and k9x' }, 'tokens k9x');
    expect(lines.join('\n')).not.toContain('k9x');
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'tokens [redacted]', detail: 'got [redacted] and [redacted]' });
  });
});
