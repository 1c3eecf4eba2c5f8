/**
 * Seedable randomness, so a sandbox run (fault decisions, app ids, tokens) can be replayed
 * from its `--seed`. Not cryptographic: the sandbox guards nothing of value.
 */
import { createHash } from 'node:crypto';

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: a tiny, fast 32-bit generator with good enough statistics for fault dice. */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An independent stream for one purpose, so drawing ids never shifts the fault dice. */
export function streamFor(seed: number, purpose: string): Random {
  return mulberry32(hashToUint32(`${seed}:${purpose}`));
}

/** SHA-256 of `text` folded to 32 bits. */
export function hashToUint32(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

const HEX_DIGITS = '0123456789abcdef';

/**
 * A version-4-shaped UUID drawn from `random`. Built as one flat string (not slices joined),
 * so an id costs ~50 bytes, not ~400: a seeded account holds 200,000 of them.
 */
export function randomUuid(random: Random): string {
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Math.floor(random() * 256);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const codes: number[] = [];
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) codes.push(0x2d); // '-'
    codes.push(HEX_DIGITS.charCodeAt(bytes[i]! >> 4), HEX_DIGITS.charCodeAt(bytes[i]! & 0x0f));
  }
  return String.fromCharCode(...codes);
}

/** `count` random bytes as lower-case hex. */
export function randomHex(random: Random, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++)
    out += Math.floor(random() * 256)
      .toString(16)
      .padStart(2, '0');
  return out;
}

/** A normal sample (Box–Muller). */
export function sampleNormal(random: Random, mean: number, sd: number): number {
  const u = 1 - random(); // (0, 1], keeps log() finite
  const v = random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** The personal-access-token-shaped platform token a seed stands for: `per_` + 64 hex. */
export function platformTokenForSeed(seed: number): string {
  return `per_${createHash('sha256').update(`instant-sandbox:${seed}`).digest('hex')}`;
}
