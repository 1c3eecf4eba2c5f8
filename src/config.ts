/**
 * Configuration: environment variables (with the aliases other tools use),
 * overridden by command-line flags, validated with zod. Pure: no I/O, no exits;
 * every problem names the variable or flag it came from.
 */
import { z } from 'zod';
import { parseTokenKey, TokenSealError, type TokenKey } from './token-seal.js';

/** How a daemon's claims make their apps: `auto` asks the server at start (see README "Two ways to create"). */
export type CreateVia = 'auto' | 'chosen-id' | 'server-id';

export interface Config {
  appId: string;
  adminToken: string;
  platformToken: string;
  apiUri: string;
  /** Create apps in this organisation (and list its apps); absent: the platform token's user. */
  orgId: string | undefined;
  createVia: CreateVia;
  concurrency: number;
  requestTimeoutMs: number;
  leaseMs: number;
  settleMarginMs: number;
  /** Optional cap on creates tried per database; the time budget (`giveUpAfterMs`) applies either way. */
  maxAttempts: number | undefined;
  giveUpAfterMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  resyncIntervalMs: number;
  windowSize: number;
  shutdownGraceMs: number;
  onTaskDelete: 'delete' | 'retain';
  /** The link from a task to its owner (`$users`); null: tasks have no owner. */
  ownerLink: string | null;
  /** At most this many databases per owner (provisioning, copying or ready); undefined: no cap. */
  maxDatabasesPerOwner: number | undefined;
  /** A fork whose source is gone or failed: `fail` it, or make its app from the `template`. */
  forkSourceMissing: 'fail' | 'template';
  deleteGraceMs: number;
  /** Paths of the template files; absent: no schema, locked rules. */
  templateSchema: string | undefined;
  templatePerms: string | undefined;
  /** Seals admin tokens at rest when set: 32 bytes, base64 (see token-seal.ts). */
  tokenKey: string | undefined;
  tokenKeyId: string | undefined;
  /** Keys of earlier envelopes, `id=base64,…`: what `rotate-token-key` opens. */
  previousTokenKeys: string | undefined;
  logLevel: string;
  /** Undefined: pretty in a terminal, JSON otherwise. */
  logFormat: 'json' | 'pretty' | undefined;
  /** The daemon's HTTP server (health, metrics, live page); undefined: no server. */
  httpPort: number | undefined;
  httpHost: string;
  /** Bearer token for the HTTP server's mutating requests; undefined: they are all refused. */
  httpToken: string | undefined;
}

export type Env = Record<string, string | undefined>;
/** Flag values as commander hands them over (strings), keyed by option name. */
export type Flags = Record<string, unknown>;

/** Thrown with one line per problem; the CLI prints them and exits 2. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export const DEFAULT_API_URI = 'https://api.instantdb.com';

const count = (min: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number ≥ ${min}`)
    .transform(Number)
    .refine((n) => n >= min && Number.isSafeInteger(n), `must be a whole number ≥ ${min}`);

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration in ms: `1500` (ms), or a whole number with a unit, `500ms`, `15s`, `5m`, `1h`, `30d`. */
const duration = (min: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(ms|s|m|h|d)?$/, `must be a duration: milliseconds, or a number with ms, s, m, h or d (e.g. 30d)`)
    .transform((text) => {
      const [, digits, unit] = /^(\d+)(ms|s|m|h|d)?$/.exec(text)!;
      return Number(digits) * UNIT_MS[unit ?? 'ms']!;
    })
    .refine(
      (ms) => ms >= min && Number.isSafeInteger(ms),
      `must be at least ${min} ms (and at most ${Number.MAX_SAFE_INTEGER})`,
    );

/** Every setting: where it comes from, its rule, its default. The README's table mirrors this. */
export const SETTINGS = {
  appId: {
    help: "the main app's id",
    env: ['INSTANT_APP_ID', 'NEXT_PUBLIC_INSTANT_APP_ID'],
    flag: 'appId',
    schema: z.string().trim().uuid('must be a UUID (the app id from the dashboard)'),
  },
  adminToken: {
    help: "the main app's admin token (prefer the environment: flags show in the process list)",
    env: ['INSTANT_ADMIN_TOKEN', 'INSTANT_APP_ADMIN_TOKEN'],
    flag: 'adminToken',
    schema: z.string().trim().min(1, 'must not be empty'),
    secret: true,
  },
  platformToken: {
    help: 'a platform token (personal access token) of the account that owns the new apps (prefer the environment)',
    env: ['INSTANT_PLATFORM_TOKEN', 'PLATFORM_TOKEN'],
    flag: 'platformToken',
    schema: z.string().trim().min(1, 'must not be empty'),
    secret: true,
  },
  apiUri: {
    help: 'InstantDB API base URL: Instant Cloud or your own Instant server',
    env: ['INSTANT_API_URI'],
    flag: 'apiUri',
    schema: z
      .string()
      .trim()
      .url('must be an http(s) URL')
      .refine((url) => /^https?:\/\//.test(url), 'must be an http(s) URL'),
    default: DEFAULT_API_URI,
  },
  orgId: {
    help: "create the task apps in this organisation (its id), and list its apps; unset: the platform token user's own apps",
    env: ['INSTANT_ORG_ID'],
    flag: 'orgId',
    schema: z.string().trim().uuid('must be a UUID (the organisation id from the dashboard)').optional(),
  },
  createVia: {
    help: 'how apps are created: chosen-id (we choose id and token; self-hosted servers), server-id (the server does; a lost answer is found by title), or auto (ask the server at start)',
    env: ['PROVISIONER_CREATE_VIA'],
    flag: 'createVia',
    schema: z.enum(['auto', 'chosen-id', 'server-id'], 'must be auto, chosen-id or server-id'),
    default: 'auto',
  },
  concurrency: {
    help: 'Platform API creates in flight at most',
    env: ['PROVISIONER_CONCURRENCY'],
    flag: 'concurrency',
    schema: count(1),
    default: '4',
  },
  requestTimeoutMs: {
    help: 'deadline of each Platform API and main-app request (a duration: ms, or e.g. 15s, 5m, 1h, 30d)',
    env: ['PROVISIONER_REQUEST_TIMEOUT_MS'],
    flag: 'requestTimeout',
    schema: duration(1),
    default: '15000',
  },
  leaseMs: {
    help: 'how long a claimed record is reserved for this process (a duration: ms, or e.g. 15s, 5m, 1h, 30d)',
    env: ['PROVISIONER_LEASE_MS'],
    flag: 'lease',
    schema: duration(1),
    default: '60000',
  },
  settleMarginMs: {
    help: 'extra wait after a timed-out create before it counts as final; covers clock skew between replicas (a duration: ms, or e.g. 15s, 5m, 1h, 30d)',
    env: ['PROVISIONER_SETTLE_MARGIN_MS'],
    flag: 'settleMargin',
    schema: duration(0),
    default: '5000',
  },
  maxAttempts: {
    help: 'an optional cap on creates tried per database (transient failures otherwise retry until --give-up-after)',
    env: ['PROVISIONER_MAX_ATTEMPTS'],
    flag: 'maxAttempts',
    schema: count(1).optional(),
  },
  giveUpAfterMs: {
    help: 'transient create failures (5xx, 429, timeouts, network) retry until this long after the first attempt; then the database fails',
    env: ['PROVISIONER_GIVE_UP_AFTER'],
    flag: 'giveUpAfter',
    schema: duration(0),
    default: '1h',
  },
  backoffBaseMs: {
    help: 'first retry delay scale (a duration); doubles per attempt, with full jitter',
    env: ['PROVISIONER_BACKOFF_BASE_MS'],
    flag: 'backoffBase',
    schema: duration(1),
    default: '1000',
  },
  backoffMaxMs: {
    help: 'longest retry delay (a duration), unless the server asks for longer',
    env: ['PROVISIONER_BACKOFF_MAX_MS'],
    flag: 'backoffMax',
    schema: duration(1),
    default: '60000',
  },
  resyncIntervalMs: {
    help: 're-read all pending work this often, whatever the subscriptions say (a duration: ms, or e.g. 15s, 5m, 1h, 30d)',
    env: ['PROVISIONER_RESYNC_INTERVAL_MS'],
    flag: 'resyncInterval',
    schema: duration(1000),
    default: '300000',
  },
  windowSize: {
    help: 'tasks (and records) watched at a time; bounds memory with any backlog',
    env: ['PROVISIONER_WINDOW'],
    flag: 'window',
    schema: count(1),
    default: '256',
  },
  shutdownGraceMs: {
    help: 'on SIGTERM/SIGINT, how long in-flight work may finish (a duration: ms, or e.g. 15s, 5m, 1h, 30d)',
    env: ['PROVISIONER_SHUTDOWN_GRACE_MS'],
    flag: 'shutdownGrace',
    schema: duration(0),
    default: '25000',
  },
  onTaskDelete: {
    help: "what happens to a task's database when the task is deleted: delete (after the grace) or retain",
    env: ['PROVISIONER_ON_TASK_DELETE'],
    flag: 'onTaskDelete',
    schema: z.enum(['delete', 'retain'], 'must be delete or retain'),
    default: 'delete',
  },
  ownerLink: {
    help: 'the link from a task to the $users who owns it (none: tasks have no owner): a re-created task gets its database back only with the same owner, and --max-databases-per-owner counts by it',
    env: ['PROVISIONER_OWNER_LINK'],
    flag: 'ownerLink',
    schema: z
      .string()
      .trim()
      .regex(/^([A-Za-z_$][\w$]*|none)$/, 'must be a link label (e.g. owner), or none')
      .transform((label) => (label === 'none' ? null : label)),
    default: 'owner',
  },
  maxDatabasesPerOwner: {
    help: 'at most this many task databases per owner (provisioning, copying or ready); a task over it gets a refused record, provisioned once its owner has fewer (e.g. 50; unset: no cap)',
    env: ['PROVISIONER_MAX_DATABASES_PER_OWNER'],
    flag: 'maxDatabasesPerOwner',
    schema: count(1).optional(),
  },
  forkSourceMissing: {
    help: "a fork whose source database is gone or failed: fail (its record says why) or template (an app from the template, without the source's data)",
    env: ['PROVISIONER_FORK_SOURCE_MISSING'],
    flag: 'forkSourceMissing',
    schema: z.enum(['fail', 'template'], 'must be fail or template'),
    default: 'fail',
  },
  deleteGraceMs: {
    help: 'with --on-task-delete delete: how long a deleted task may come back (re-created with its id) before its app is deleted (a duration: ms, or e.g. 15s, 5m, 1h, 30d)',
    env: ['PROVISIONER_DELETE_GRACE_MS'],
    flag: 'deleteGrace',
    schema: duration(0),
    default: '86400000',
  },
  templateSchema: {
    help: 'schema of every new task database: a .json file or a .ts/.js module whose default export is i.schema(...)',
    env: ['PROVISIONER_TEMPLATE_SCHEMA'],
    flag: 'templateSchema',
    schema: z.string().trim().min(1, 'must be a file path').optional(),
  },
  templatePerms: {
    help: 'permission rules of every new task database (.json or .ts/.js default export); without one, every client is denied',
    env: ['PROVISIONER_TEMPLATE_PERMS'],
    flag: 'templatePerms',
    schema: z.string().trim().min(1, 'must be a file path').optional(),
  },
  tokenKey: {
    help: 'seal admin tokens at rest (AES-256-GCM) with this key: 32 bytes in base64, e.g. `openssl rand -base64 32`',
    env: ['PROVISIONER_TOKEN_KEY'],
    flag: 'tokenKey',
    schema: z.string().trim().optional(),
    secret: true,
  },
  tokenKeyId: {
    help: 'the id envelopes name the token key by (default: derived from the key)',
    env: ['PROVISIONER_TOKEN_KEY_ID'],
    flag: 'tokenKeyId',
    schema: z.string().trim().optional(),
  },
  previousTokenKeys: {
    help: 'rotate-token-key: the keys earlier envelopes were sealed with, as id=base64 pairs separated by commas',
    env: ['PROVISIONER_PREVIOUS_TOKEN_KEYS'],
    flag: 'previousTokenKeys',
    schema: z.string().trim().optional(),
    secret: true,
  },
  logLevel: {
    help: 'trace, debug, info, warn, error, fatal or silent',
    env: ['LOG_LEVEL'],
    flag: 'logLevel',
    schema: z.enum(
      ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
      'must be one of trace, debug, info, warn, error, fatal, silent',
    ),
    default: 'info',
  },
  logFormat: {
    help: 'json or pretty (default: pretty in a terminal, JSON otherwise)',
    env: ['LOG_FORMAT'],
    flag: 'logFormat',
    schema: z.enum(['json', 'pretty'], 'must be json or pretty').optional(),
  },
  httpPort: {
    help: 'the daemon serves /healthz, /readyz, /metrics and a live page on this port (0: any free one; unset: no server)',
    env: ['PROVISIONER_HTTP_PORT'],
    flag: 'httpPort',
    schema: count(0)
      .refine((port) => port <= 65_535, 'must be a port number (0 to 65535)')
      .optional(),
  },
  httpHost: {
    help: 'address the HTTP server listens on (0.0.0.0 for every interface)',
    env: ['PROVISIONER_HTTP_HOST'],
    flag: 'httpHost',
    schema: z.string().trim().min(1, 'must not be empty'),
    default: '127.0.0.1',
  },
  httpToken: {
    help: "bearer token for the HTTP server's data and actions (retry); without one, actions are refused and task ids hidden (prefer the environment)",
    env: ['PROVISIONER_HTTP_TOKEN'],
    flag: 'httpToken',
    schema: z.string().trim().min(16, 'must be at least 16 characters').optional(),
    secret: true,
  },
} as const;

type Key = keyof typeof SETTINGS;

/** Kebab-case flag name for a setting, as commander spells it on the command line. */
export function flagName(key: Key): string {
  return '--' + SETTINGS[key].flag.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** True when any credential is present in `env` (any alias). */
export function hasCredentials(env: Env): boolean {
  return (['appId', 'adminToken', 'platformToken'] as const).some((key) =>
    SETTINGS[key].env.some((name) => nonEmpty(env[name])),
  );
}

export function loadConfig(env: Env, flags: Flags = {}): Config {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(SETTINGS) as Key[]) {
    const setting = SETTINGS[key];
    const fromFlag = flags[setting.flag];
    const envName = setting.env.find((name) => nonEmpty(env[name]));
    const source = fromFlag !== undefined ? flagName(key) : envName;
    const raw =
      fromFlag !== undefined
        ? String(fromFlag)
        : envName !== undefined
          ? env[envName]
          : 'default' in setting
            ? setting.default
            : undefined;
    if (raw === undefined) {
      if (setting.schema.safeParse(undefined).success) continue;
      const aliases = setting.env.slice(1);
      problems.push(
        `${setting.env[0]} is not set` +
          (aliases.length ? ` (also accepted: ${aliases.join(', ')})` : '') +
          `; set it in the environment, in .env, or with ${flagName(key)}`,
      );
      continue;
    }
    const parsed = setting.schema.safeParse(raw);
    if (parsed.success) values[key] = parsed.data;
    else {
      const shown = 'secret' in setting ? '' : ` (got ${JSON.stringify(raw)})`;
      problems.push(
        `${source ?? flagName(key) + ' (default)'} ${parsed.error.issues[0]?.message ?? 'is invalid'}${shown}`,
      );
    }
  }
  if (problems.length === 0) {
    const config = values as unknown as Config;
    if (config.leaseMs <= config.requestTimeoutMs + config.settleMarginMs) {
      problems.push(
        `${flagName('leaseMs')} must be longer than ${flagName('requestTimeoutMs')} + ${flagName('settleMarginMs')} ` +
          `(${config.leaseMs} ≤ ${config.requestTimeoutMs} + ${config.settleMarginMs}), or no create could ever be sent safely`,
      );
    }
    if (config.backoffMaxMs < config.backoffBaseMs)
      problems.push(`${flagName('backoffMaxMs')} must be at least ${flagName('backoffBaseMs')}`);
    problems.push(...tokenKeyProblems(config));
    if (problems.length === 0) return config;
  }
  throw new ConfigError(problems);
}

/** Every configured secret's text, for the log scrubber. */
export function configSecrets(config: Config): string[] {
  return (
    (Object.keys(SETTINGS) as Key[])
      .filter((key) => 'secret' in SETTINGS[key])
      .map((key) => config[key as keyof Config])
      .filter((value): value is string => typeof value === 'string' && value !== '')
      // A list of keys (`id=base64,…`) leaks key by key.
      .flatMap((value) => [value, ...value.split(/[,=]/).filter((part) => part.trim().length >= 16)])
  );
}

export interface TokenKeys {
  /** What new admin tokens are sealed with; undefined: stored as they are. */
  current: TokenKey | undefined;
  previous: TokenKey[];
}

/** The configured token keys (loadConfig has already checked them). */
export function tokenKeys(config: Config): TokenKeys {
  const current = config.tokenKey ? parseTokenKey(config.tokenKey, config.tokenKeyId) : undefined;
  const previous = (config.previousTokenKeys ?? '')
    .split(',')
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '')
    .map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new TokenSealError('invalid-key', 'each previous token key must be written id=base64');
      return parseTokenKey(pair.slice(at + 1), pair.slice(0, at));
    });
  return { current, previous };
}

function tokenKeyProblems(config: Config): string[] {
  if (config.tokenKeyId && !config.tokenKey) return ['PROVISIONER_TOKEN_KEY_ID is set without PROVISIONER_TOKEN_KEY'];
  try {
    tokenKeys(config);
    return [];
  } catch (error) {
    if (!(error instanceof TokenSealError)) throw error;
    // The messages name the problem, never a key.
    return [`PROVISIONER_TOKEN_KEY / PROVISIONER_PREVIOUS_TOKEN_KEYS: ${error.message}`];
  }
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}
