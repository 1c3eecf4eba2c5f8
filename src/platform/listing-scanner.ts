/**
 * Reads `GET /superadmin/apps` as it streams in, keeping only the apps a
 * lookup asked for: those with given titles and those created since a time.
 *
 * The listing is not paginated: with 100,000 apps it is ~30 MB. Parsing it
 * whole costs ~140 ms of CPU and holds the body and 100,000 objects at once;
 * stream-json took ~2 s for the same body (measured, Node 20). Instead the
 * bytes are searched natively (Buffer.indexOf, ~6 ms for 30 MB) for the keys
 * that matter, `"title":"<wanted title>"` and `"created_at":"`, and only the
 * rows around a hit are cut out and given to JSON.parse. A hit is always a real
 * key: inside a JSON string every quote is escaped, so `"title":"` cannot occur
 * there. A row's bounds are found by walking out from the hit to the nearest
 * `{` and `}` that are not inside a string; whether a quote is escaped depends
 * only on the backslashes just before it, so this works in either direction.
 * All four characters are ASCII, which UTF-8 never uses inside a multi-byte
 * character, so the search runs on bytes.
 *
 * A `created_at` hit is judged by its value first: a row created before the
 * filter's time is passed over unparsed (a sweep's listing has a hit in every
 * row and wants the newest few; parsing all 100,000 rows cost ~120 ms a sweep).
 *
 * Chunks are searched where they lie: nothing is copied but a needle's width
 * at each seam and the few rows that are read (concatenating a 64 KB window
 * to every chunk cost ~15 ms per 100,000-app listing, more than the search
 * itself). The last chunks are kept by reference, at least MAX_ROW_BYTES of
 * them, for rows that began in an earlier chunk; so a chunk must not change
 * once written (a stream's chunks do not).
 *
 * Memory is those chunks and the matches, whatever the size of the account.
 */
import { MalformedResponseError } from '../errors.js';
import { instantTimestamp } from '../instant-timestamp.js';
import type { ListedApp, ListingFilter } from '../core/types.js';
import { listedAppRow } from './responses.js';

/** No app row is near this long without `include`; a longer one means we cannot read this listing. */
const MAX_ROW_BYTES = 64 * 1024;
/** How far around a hit a row is first looked for: rows are a few hundred bytes. */
const NEAR_BYTES = 4 * 1024;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const CREATED_AT = Buffer.from('"created_at":"');
/** `YYYY-MM-DDTHH:MM:SSZ`, with -1 where a digit goes. */
const DIGIT = -1;
const TIMESTAMP_SHAPE = [...'0000-00-00T00:00:00Z'].map((char) => (char === '0' ? DIGIT : char.charCodeAt(0)));
const ENVELOPE_START = /^\s*\{\s*"apps"\s*:\s*\[/;
const ENVELOPE_END = /\]\s*\}\s*$/;

/** A needle found at `at`, a position in the whole body. */
interface Hit {
  at: number;
  needle: Buffer;
}

export class AppListingScanner {
  private readonly kept = new KeptChunks();
  /** Hits whose value or row runs past what has arrived: the next chunks complete them. */
  private waiting: Hit[] = [];
  private head = '';
  private tail = '';
  private readonly needles: Buffer[];
  private readonly widest: number;
  private readonly found = new Map<string, ListedApp>();
  /** The filter's time as the server writes times, to compare rows' times without parsing them. */
  private readonly cutoff: Buffer | undefined;

  constructor(private readonly filter: ListingFilter) {
    this.needles = [...(filter.titles ?? [])].map((title) => Buffer.from(`"title":${JSON.stringify(title)}`));
    if (filter.createdSince !== undefined) this.needles.push(CREATED_AT);
    this.widest = Math.max(0, ...this.needles.map((needle) => needle.length));
    if (filter.createdSince !== undefined) this.cutoff = serverTimestamp(filter.createdSince);
  }

  /** Bytes held for rows that may continue in the next chunks (for tests: bounded, whatever the body). */
  get keptBytes(): number {
    return this.kept.size;
  }

  write(chunk: Buffer): void {
    if (this.head.length < 64) this.head += chunk.subarray(0, 64 - this.head.length).toString('latin1');
    this.tail = (this.tail + chunk.subarray(Math.max(0, chunk.length - 64)).toString('latin1')).slice(-64);
    if (this.needles.length === 0 || chunk.length === 0) return;
    const chunkStart = this.kept.end;
    this.kept.push(chunk);
    const waiting = this.waiting;
    this.waiting = [];
    for (const hit of waiting) this.judge(hit);
    this.searchSeam(chunkStart);
    for (const needle of this.needles)
      for (let at = chunk.indexOf(needle); at >= 0; at = chunk.indexOf(needle, at + needle.length))
        this.judge({ at: chunkStart + at, needle });
    const oldestNeeded = Math.min(this.kept.end, ...this.waiting.map((hit) => hit.at));
    this.kept.dropBefore(oldestNeeded - MAX_ROW_BYTES);
  }

  /** The matching apps; throws when the body was not a listing. */
  end(): ListedApp[] {
    if (!isListingEnvelope(this.head, this.tail))
      throw new MalformedResponseError('list answer is not {"apps": [...]}', { status: 200 });
    if (this.waiting.length > 0)
      throw new MalformedResponseError('list answer ends inside an app row', { status: 200 });
    return [...this.found.values()];
  }

  /** Needles that began before the chunk at `chunkStart` and end in it. */
  private searchSeam(chunkStart: number): void {
    if (chunkStart === 0) return;
    const from = Math.max(this.kept.start, chunkStart - this.widest + 1);
    const seam = this.kept.slice(from, chunkStart + this.widest - 1);
    for (const needle of this.needles)
      for (let at = seam.indexOf(needle); at >= 0 && from + at < chunkStart; at = seam.indexOf(needle, at + 1))
        if (from + at + needle.length > chunkStart) this.judge({ at: from + at, needle });
  }

  private judge(hit: Hit): void {
    const to = hit.at + hit.needle.length;
    if (hit.needle === CREATED_AT) {
      const old = this.tooOld(to);
      if (old === 'incomplete') return void this.waiting.push(hit);
      if (old) return;
    }
    const row = this.rowAround(hit.at, to, endsInString(hit.needle));
    if (row === 'incomplete') return void this.waiting.push(hit);
    this.consider(row);
  }

  /**
   * Whether the `created_at` value starting at `from` is before the filter's time, read without
   * parsing the row: a sweep's listing has a hit in every row and wants only the newest few.
   * False when it cannot tell (an escape, or not a timestamp): the row is parsed and judged whole.
   */
  private tooOld(from: number): boolean | 'incomplete' {
    const bytes = this.kept.slice(from, from + 65);
    const end = bytes.indexOf(QUOTE);
    if (end < 0) return bytes.length < 65 ? 'incomplete' : false;
    if (end === 20 && this.cutoff && isServerTimestamp(bytes)) return bytes.compare(this.cutoff, 0, 20, 0, 20) < 0;
    const value = bytes.toString('utf8', 0, end);
    if (value.includes('\\')) return false;
    const ms = Date.parse(value);
    return Number.isFinite(ms) && ms < this.filter.createdSince!;
  }

  private consider(row: Buffer): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(row.toString('utf8'));
    } catch {
      throw new MalformedResponseError('list answer has an app row that is not JSON', { status: 200 });
    }
    const app = listedAppRow.safeParse(parsed);
    if (!app.success) throw new MalformedResponseError('list answer has an unusable app row', { status: 200 });
    const { id, title, created_at: createdAt } = app.data;
    const wanted =
      (this.filter.titles?.has(title) ?? false) ||
      (this.filter.createdSince !== undefined && createdAt >= this.filter.createdSince);
    if (wanted) this.found.set(id, { id, title, createdAt });
  }

  /**
   * The row around a key at [at, to): from the `{` before it to the `}` after it, outside strings.
   * Looked for near the key first, then as far as a row can reach.
   */
  private rowAround(at: number, to: number, inValue: boolean): Buffer | 'incomplete' {
    for (const reach of [NEAR_BYTES, MAX_ROW_BYTES]) {
      const from = Math.max(this.kept.start, at - reach);
      const upTo = Math.min(this.kept.end, to + reach);
      const bytes = this.kept.slice(from, upTo);
      // Before the first byte kept there is nothing to widen to: the body's start, or rows out of reach.
      const start = rowStart(bytes, at - from, from === this.kept.start);
      if (start === 'wider') continue;
      if (start < 0)
        throw new MalformedResponseError('list answer has an app row whose start is out of reach', { status: 200 });
      const end = rowEnd(bytes, to - from, inValue, start);
      if (end >= 0) return bytes.subarray(start, end + 1);
      if (upTo === this.kept.end) return 'incomplete';
    }
    throw new MalformedResponseError('list answer has an app row too long to read', { status: 200 });
  }
}

/** Whether a body's first and last bytes (latin1) are those of `{"apps": [...]}`. */
export function isListingEnvelope(head: string, tail: string): boolean {
  return ENVELOPE_START.test(head) && ENVELOPE_END.test(tail);
}

/**
 * The last chunks of the body, kept by reference, with their place in it; a slice
 * is copied only when it spans chunks.
 */
class KeptChunks {
  private chunks: Buffer[] = [];
  /** Body position of the first kept byte, and just past the last. */
  start = 0;
  end = 0;

  get size(): number {
    return this.end - this.start;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.end += chunk.length;
  }

  /** Lets go of whole chunks that end before `position`. */
  dropBefore(position: number): void {
    while (this.chunks.length > 1 && this.start + this.chunks[0]!.length <= position)
      this.start += this.chunks.shift()!.length;
  }

  /** Bytes [from, to) of the body, clipped to what is kept. */
  slice(from: number, to: number): Buffer {
    from = Math.max(from, this.start);
    to = Math.min(to, this.end);
    const last = this.chunks[this.chunks.length - 1]!;
    const lastStart = this.end - last.length;
    if (from >= lastStart) return last.subarray(from - lastStart, to - lastStart);
    const pieces: Buffer[] = [];
    let chunkStart = this.start;
    for (const chunk of this.chunks) {
      const chunkEnd = chunkStart + chunk.length;
      if (chunkEnd > from && chunkStart < to)
        pieces.push(chunk.subarray(Math.max(0, from - chunkStart), Math.min(chunk.length, to - chunkStart)));
      chunkStart = chunkEnd;
    }
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }
}

/**
 * Where the row around a key at `at` begins: the nearest `{` before it outside a string,
 * -1 if there is none, 'wider' if the answer needs bytes before these (`whole` says there are none).
 */
function rowStart(bytes: Buffer, at: number, whole: boolean): number | 'wider' {
  let inString = false;
  for (let i = at - 1; i >= 0; i--) {
    const byte = bytes[i]!;
    if (byte === QUOTE) {
      const isEscaped = escaped(bytes, i);
      if (isEscaped === undefined) return whole ? -1 : 'wider';
      if (!isEscaped) inString = !inString;
    } else if (byte === OPEN && !inString) return i;
    if (at - i > MAX_ROW_BYTES) return -1;
  }
  return whole ? -1 : 'wider';
}

/** Where the row that began at `start` ends: its `}` after `from`, outside strings; -1 if not in these bytes. */
function rowEnd(bytes: Buffer, from: number, inValue: boolean, start: number): number {
  let inString = inValue;
  for (let i = from; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === QUOTE && !escaped(bytes, i)) inString = !inString;
    else if (byte === CLOSE && !inString) return i;
    if (i - start > MAX_ROW_BYTES)
      throw new MalformedResponseError('list answer has an app row too long to read', { status: 200 });
  }
  return -1;
}

/**
 * The server's `YYYY-MM-DDTHH:MM:SSZ` for the first whole second at or after `ms`: a row's
 * time (whole seconds) is before `ms` exactly when its text sorts before this one.
 */
function serverTimestamp(ms: number): Buffer | undefined {
  const second = Math.ceil(ms / 1000) * 1000;
  const year = new Date(second).getUTCFullYear();
  if (!Number.isFinite(year) || year < 0 || year > 9999) return undefined;
  return Buffer.from(instantTimestamp(second));
}

/** Whether the 20 bytes begin with a time written as the server writes them. */
function isServerTimestamp(bytes: Buffer): boolean {
  for (let i = 0; i < 20; i++) {
    const byte = bytes[i]!;
    const expected = TIMESTAMP_SHAPE[i]!;
    if (expected === DIGIT ? byte < 0x30 || byte > 0x39 : byte !== expected) return false;
  }
  return true;
}

/** True when a needle ends inside a string (`"created_at":"` opens the value). */
function endsInString(needle: Buffer): boolean {
  let quotes = 0;
  for (const byte of needle) if (byte === QUOTE) quotes++;
  return quotes % 2 === 1;
}

/**
 * A quote is escaped when an odd number of backslashes stands right before it;
 * undefined when the backslashes run back to the first of these bytes.
 */
function escaped(bytes: Buffer, at: number): boolean | undefined {
  let count = 0;
  for (let i = at - 1; bytes[i] === BACKSLASH; i--) {
    if (i === 0) return undefined;
    count++;
  }
  return count % 2 === 1;
}
