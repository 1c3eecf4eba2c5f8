/**
 * Fault injection for tests, chaos runs and benchmarks. Each kind of decision draws from its own
 * seeded stream, one draw per decision, so a run with the same seed and the same request order
 * replays the same faults (and transacts never shift the create dice). Latency is served by timers, so a slow Platform API costs no CPU.
 */
import { z } from 'zod';
import { sampleNormal, streamFor, type Random } from './rng.js';

/** Milliseconds, or a distribution sampled per request (normal samples are clamped at 0). */
export type LatencySpec =
  | number
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; min: number; max: number }
  | { kind: 'normal'; mean: number; sd: number };

/** What the sandbox gets wrong on purpose. Probabilities are per request, in [0, 1]. */
export interface FaultConfig {
  /** Delay before answering `POST /superadmin/apps`. */
  createLatency: LatencySpec;
  /** Create answers 500 with InstantDB's untyped body; no app is created. */
  p500: number;
  /** Create answers 429 `rate-limited` with a `Retry-After: <retryAfter>` header; no app is created. */
  p429: number;
  /** Create answers 429 `rate-limited` with the wait in `hint['retry-after']` (no header); no app is created. */
  p429Hint: number;
  /** Seconds announced by the 429 faults. */
  retryAfter: number;
  /** Create is never answered (until the client gives up or the sandbox closes); no app is created. */
  pHang: number;
  /** The app is created, then the socket is destroyed without an answer. */
  pLost: number;
  /** Create answers an HTML 502 page, as a proxy would; no app is created. */
  pMalformed: number;
  /** The app is created and answered with 200 JSON that lacks `admin-token`. */
  pMissingToken: number;
  /**
   * A create with a schema writes the app row, then its schema step fails (400 validation-failed or
   * 500, half each), leaving the app behind, as the real server does when applying the schema throws.
   */
  pSchemaFail: number;
  /** A template push request (schema plan/apply, perms push) answers 429 `rate-limited` with `Retry-After`; nothing changes. */
  pPush429: number;
  /** Every create answers 400 `app-creation-disabled` (InstantDB's sunset). */
  windDown: boolean;
  /** `/admin/transact` answers 500 (typed body) and applies nothing. */
  pTransactFail: number;
  /**
   * Delay before a transact is applied, as if in transit; a client that disconnects
   * meanwhile (a killed process) loses its write, as a request that never arrived would.
   */
  transactLatency: LatencySpec;
  /** When > 0, the server ends every open subscribe-query stream every this many ms. */
  sseDropEvery: number;
}

/** Counted fault kinds. */
export type FaultKind =
  | 'createDelayed'
  | 'create500'
  | 'create429'
  | 'create429Hint'
  | 'createHang'
  | 'createLost'
  | 'createMalformed'
  | 'createMissingToken'
  | 'windDown'
  | 'signupsClosed'
  | 'schemaFail'
  | 'push429'
  | 'transactFail'
  | 'transactDelayed'
  | 'transactAbandoned'
  | 'sseDrop';

/** What a create request will get. */
export type CreateOutcome =
  | 'ok'
  | Exclude<
      FaultKind,
      | 'createDelayed'
      | 'signupsClosed'
      | 'schemaFail'
      | 'push429'
      | 'transactFail'
      | 'transactDelayed'
      | 'transactAbandoned'
      | 'sseDrop'
    >;

const probability = z.number().min(0).max(1);
const nonNegative = z.number().finite().min(0);
const latency = z.union([
  nonNegative,
  z.object({ kind: z.literal('fixed'), ms: nonNegative }).strict(),
  z
    .object({ kind: z.literal('uniform'), min: nonNegative, max: nonNegative })
    .strict()
    .refine((v) => v.min <= v.max, 'min must be <= max'),
  z.object({ kind: z.literal('normal'), mean: nonNegative, sd: nonNegative }).strict(),
]);

/** Validates a partial FaultConfig (from JSON, flags or code). */
export const faultPatchSchema = z
  .object({
    createLatency: latency,
    p500: probability,
    p429: probability,
    p429Hint: probability,
    retryAfter: z.number().int().min(0),
    pHang: probability,
    pLost: probability,
    pMalformed: probability,
    pMissingToken: probability,
    pSchemaFail: probability,
    pPush429: probability,
    windDown: z.boolean(),
    pTransactFail: probability,
    transactLatency: latency,
    sseDropEvery: z.number().int().min(0),
  })
  .partial()
  .strict();

/** The configuration with no faults at all. */
export function defaultFaults(): FaultConfig {
  return {
    createLatency: 0,
    p500: 0,
    p429: 0,
    p429Hint: 0,
    retryAfter: 1,
    pHang: 0,
    pLost: 0,
    pMalformed: 0,
    pMissingToken: 0,
    pSchemaFail: 0,
    pPush429: 0,
    windDown: false,
    pTransactFail: 0,
    transactLatency: 0,
    sseDropEvery: 0,
  };
}

/** Parses a patch; the error message names the offending key. */
export function parseFaultPatch(input: unknown): Partial<FaultConfig> {
  const parsed = faultPatchSchema.safeParse(input);
  if (parsed.success) return parsed.data as Partial<FaultConfig>;
  const issue = parsed.error.issues[0]!;
  const key = issue.path.length ? issue.path.join('.') : ((issue as { keys?: string[] }).keys?.join(', ') ?? 'faults');
  throw new Error(`${key}: ${issue.message}`);
}

/** `100`, `fixed:100`, `uniform:50:150` or `normal:100:20` (ms) as a LatencySpec. */
export function parseLatency(text: string): LatencySpec {
  const parts = text.split(':');
  const nums = parts.slice(1).map(Number);
  const ok = nums.every((n) => Number.isFinite(n) && n >= 0);
  let spec: LatencySpec | undefined;
  if (parts.length === 1 && text.trim() !== '' && Number.isFinite(Number(text)) && Number(text) >= 0)
    spec = Number(text);
  else if (ok && parts[0] === 'fixed' && nums.length === 1) spec = { kind: 'fixed', ms: nums[0]! };
  else if (ok && parts[0] === 'uniform' && nums.length === 2 && nums[0]! <= nums[1]!)
    spec = { kind: 'uniform', min: nums[0]!, max: nums[1]! };
  else if (ok && parts[0] === 'normal' && nums.length === 2) spec = { kind: 'normal', mean: nums[0]!, sd: nums[1]! };
  if (spec === undefined) throw new Error(`expected ms, fixed:MS, uniform:MIN:MAX or normal:MEAN:SD, got "${text}"`);
  return spec;
}

/** The live fault configuration, its dice and its counters. */
export class FaultInjector {
  private config: FaultConfig;
  private readonly counters = new Map<FaultKind, number>();
  private readonly listeners: (() => void)[] = [];
  private readonly createDice: Random;
  private readonly latencyDice: Random;
  private readonly transactDice: Random;
  private readonly schemaDice: Random;
  private readonly pushDice: Random;

  constructor(seed: number, initial: Partial<FaultConfig> = {}) {
    this.config = { ...defaultFaults(), ...parseFaultPatch(initial) };
    this.createDice = streamFor(seed, 'faults:create');
    this.latencyDice = streamFor(seed, 'faults:latency');
    this.transactDice = streamFor(seed, 'faults:transact');
    this.schemaDice = streamFor(seed, 'faults:schema');
    this.pushDice = streamFor(seed, 'faults:push');
  }

  get(): FaultConfig {
    return structuredClone(this.config);
  }

  /** Applies a validated patch; throws (naming the key) on an invalid one. */
  set(patch: Partial<FaultConfig>): void {
    this.config = { ...this.config, ...parseFaultPatch(patch) };
    for (const listener of this.listeners) listener();
  }

  reset(): void {
    this.config = defaultFaults();
    for (const listener of this.listeners) listener();
  }

  /** Called after every change (the SSE drop timer re-arms itself). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The delay for one create, in ms. */
  createDelayMs(): number {
    return this.sample(this.config.createLatency);
  }

  /** The delay for one transact, in ms. */
  transactDelayMs(): number {
    return this.sample(this.config.transactLatency);
  }

  private sample(spec: LatencySpec): number {
    if (typeof spec === 'number') return spec;
    switch (spec.kind) {
      case 'fixed':
        return spec.ms;
      case 'uniform':
        return spec.min + this.latencyDice() * (spec.max - spec.min);
      case 'normal':
        return Math.max(0, sampleNormal(this.latencyDice, spec.mean, spec.sd));
    }
  }

  /** One draw decides the fate of one create request. */
  decideCreate(): CreateOutcome {
    const roll = this.createDice();
    if (this.config.windDown) return 'windDown';
    const c = this.config;
    const table: [number, CreateOutcome][] = [
      [c.p500, 'create500'],
      [c.p429, 'create429'],
      [c.p429Hint, 'create429Hint'],
      [c.pHang, 'createHang'],
      [c.pLost, 'createLost'],
      [c.pMalformed, 'createMalformed'],
      [c.pMissingToken, 'createMissingToken'],
    ];
    let edge = 0;
    for (const [p, outcome] of table) {
      edge += p;
      if (roll < edge) return outcome;
    }
    return 'ok';
  }

  /** One draw decides whether a transact fails. */
  decideTransactFail(): boolean {
    return this.transactDice() < this.config.pTransactFail;
  }

  /** One draw per create that carries a schema: null, or the status its schema step fails with. */
  decideSchemaFail(): 400 | 500 | null {
    const roll = this.schemaDice();
    const p = this.config.pSchemaFail;
    if (roll >= p) return null;
    return roll < p / 2 ? 400 : 500;
  }

  /** One draw per template push request: whether it is refused with a 429. */
  decidePush429(): boolean {
    return this.pushDice() < this.config.pPush429;
  }

  count(kind: FaultKind): void {
    this.counters.set(kind, (this.counters.get(kind) ?? 0) + 1);
  }

  /** Faults injected so far, by kind (every kind present, zero included). */
  counts(): Record<FaultKind, number> {
    const kinds: FaultKind[] = [
      'createDelayed',
      'create500',
      'create429',
      'create429Hint',
      'createHang',
      'createLost',
      'createMalformed',
      'createMissingToken',
      'windDown',
      'signupsClosed',
      'schemaFail',
      'push429',
      'transactFail',
      'transactDelayed',
      'transactAbandoned',
      'sseDrop',
    ];
    return Object.fromEntries(kinds.map((k) => [k, this.counters.get(k) ?? 0])) as Record<FaultKind, number>;
  }
}
