/**
 * The content checksum of a copy: order-independent, so a source read in creation order and a
 * target read back in its own order agree. Each entity is hashed (SHA-256) over a canonical form
 * of its namespace, id, attributes (keys sorted at every depth) and links (ids sorted); the
 * hashes are added modulo 2^256. A sum, not an XOR: an entity read twice changes it.
 */
import { createHash } from 'node:crypto';
import type { CopiedEntity } from './types.js';

const LANES = 8;
const LANE = 2 ** 32;

/** A running sum of entity hashes, with a count. */
export class ContentSum {
  private readonly lanes = new Array<number>(LANES).fill(0);
  count = 0;

  /** A sum resumed from `hex` (a checkpoint's) after `count` entities. */
  static from(hex: string, count: number): ContentSum {
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new TypeError('a content sum is 64 hex digits');
    const sum = new ContentSum();
    for (let i = 0; i < LANES; i++) sum.lanes[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16);
    sum.count = count;
    return sum;
  }

  /** Adds one entity of namespace `ns`. */
  add(ns: string, entity: CopiedEntity): void {
    this.addDigest(createHash('sha256').update(canonicalEntity(ns, entity)).digest());
    this.count++;
  }

  /** Adds another sum (to total namespaces). */
  plus(other: ContentSum): ContentSum {
    const out = ContentSum.from(this.hex, this.count + other.count);
    for (let i = LANES - 1, carry = 0; i >= 0; i--) {
      const total = out.lanes[i]! + other.lanes[i]! + carry;
      out.lanes[i] = total % LANE;
      carry = total >= LANE ? 1 : 0;
    }
    return out;
  }

  /** The sum as 64 hex digits. */
  get hex(): string {
    return this.lanes.map((lane) => lane.toString(16).padStart(8, '0')).join('');
  }

  private addDigest(digest: Buffer): void {
    // Big-endian 256-bit addition, lane 0 most significant; the final carry falls off (mod 2^256).
    for (let i = LANES - 1, carry = 0; i >= 0; i--) {
      const total = this.lanes[i]! + digest.readUInt32BE(i * 4) + carry;
      this.lanes[i] = total % LANE;
      carry = total >= LANE ? 1 : 0;
    }
  }
}

/** The text an entity is hashed over: `[ns, id, attrs, links]` with sorted keys and sorted link ids. */
export function canonicalEntity(ns: string, entity: CopiedEntity): string {
  const links: Record<string, string[]> = {};
  for (const label of Object.keys(entity.links).sort()) {
    const ids = entity.links[label]!;
    if (ids.length > 0) links[label] = [...ids].sort();
  }
  return `[${JSON.stringify(ns)},${JSON.stringify(entity.id)},${canonical(entity.attrs)},${JSON.stringify(links)}]`;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
