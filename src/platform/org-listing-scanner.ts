/**
 * Reads `GET /superadmin/orgs/:id/apps` as it streams in, keeping only the apps a lookup asked
 * for (see ListingFilter). An org's rows nest objects (members, invites, webhooks with their own
 * `created_at`, the app's rules, the org with its own `title`), so the flat scanner's trick of
 * walking from a key to the nearest brace would cut out the wrong object. Here each row of the
 * `apps` array is cut out whole by following depth and strings byte by byte, parsed, and kept
 * if wanted. Memory is one row and the matches, whatever the number of apps; CPU is a pass over
 * every byte, which is fine for the lookups that read org listings (lost answers, gc).
 *
 * Rows carry each app's admin token: they are parsed into what a lookup needs and dropped.
 */
import { MalformedResponseError } from '../errors.js';
import type { ListedApp, ListingFilter } from '../core/types.js';
import { isListingEnvelope } from './listing-scanner.js';
import { listedAppRow } from './responses.js';

/** Rules and webhooks make org rows longer than personal ones; longer than this is not a row we can read. */
const MAX_ROW_BYTES = 4 * 1024 * 1024;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
/** Depth of a row: inside the root object (1) and its `apps` array (2). */
const ROW_DEPTH = 3;

export class OrgListingScanner {
  private depth = 0;
  private inString = false;
  private escaping = false;
  /** Pieces of the row being read, and their size. */
  private row: Buffer[] = [];
  private rowBytes = 0;
  private head = '';
  private tail = '';
  private readonly found: ListedApp[] = [];

  constructor(private readonly filter: ListingFilter) {}

  write(chunk: Buffer): void {
    if (this.head.length < 64) this.head += chunk.subarray(0, 64 - this.head.length).toString('latin1');
    this.tail = (this.tail + chunk.subarray(Math.max(0, chunk.length - 64)).toString('latin1')).slice(-64);
    // Where the row being read starts in this chunk (-1: it began in an earlier one, or none is open).
    let rowStart = this.depth >= ROW_DEPTH ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.inString) {
        if (this.escaping) this.escaping = false;
        else if (byte === BACKSLASH) this.escaping = true;
        else if (byte === QUOTE) this.inString = false;
        continue;
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
        if (++this.depth === ROW_DEPTH) rowStart = i;
      } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
        if (this.depth-- === ROW_DEPTH) {
          this.keep(chunk.subarray(rowStart, i + 1));
          this.endRow();
          rowStart = -1;
        }
      }
    }
    if (rowStart >= 0) this.keep(chunk.subarray(rowStart));
  }

  /** The matching apps; throws when the body was not a listing. */
  end(): ListedApp[] {
    if (!isListingEnvelope(this.head, this.tail) || this.depth !== 0)
      throw new MalformedResponseError('list answer is not {"apps": [...]}', { status: 200 });
    return this.found;
  }

  private keep(piece: Buffer): void {
    this.rowBytes += piece.length;
    if (this.rowBytes > MAX_ROW_BYTES)
      throw new MalformedResponseError('list answer has an app row too long to read', { status: 200 });
    // A chunk's bytes never change once written (a stream's do not), so a reference is enough.
    this.row.push(piece);
  }

  private endRow(): void {
    const text = (this.row.length === 1 ? this.row[0]! : Buffer.concat(this.row)).toString('utf8');
    this.row = [];
    this.rowBytes = 0;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new MalformedResponseError('list answer has an app row that is not JSON', { status: 200 });
    }
    const app = listedAppRow.safeParse(parsed);
    if (!app.success) throw new MalformedResponseError('list answer has an unusable app row', { status: 200 });
    const { id, title, created_at: createdAt } = app.data;
    const { titles, createdSince } = this.filter;
    if ((titles?.has(title) ?? false) || (createdSince !== undefined && createdAt >= createdSince))
      this.found.push({ id, title, createdAt });
  }
}
