/**
 * Reads an app over its admin API: the catalogue and rules, then every namespace in creation
 * order, one page at a time (`limit` + `offset`, `order: {serverCreatedAt: 'asc'}`), each
 * entity with its forward links (`<label>: {$: {fields: ['id']}}`), so links travel with their
 * source entity and each link is read once. Pages are sized by bytes, not entities: the next
 * page's limit follows the last page's size, so an app of entities with thousands of links each
 * is read in small pages and memory stays flat.
 */
import { CopyError } from '../errors.js';
import type { AppClient } from './app-client.js';
import { CatalogFormatError, configFromCatalog } from './schema-defs.js';
import type { CopiedEntity, CopyConfig, CopySource, NamespacePlan } from './types.js';

export interface PageSizing {
  /** Entities in the first page of a namespace. */
  first: number;
  min: number;
  max: number;
  /** The answer size pages aim for. */
  targetBytes: number;
}

export const DEFAULT_PAGES: PageSizing = { first: 500, min: 1, max: 2_000, targetBytes: 2 * 1024 * 1024 };

export class AppSource implements CopySource {
  constructor(
    private readonly client: AppClient,
    private readonly pages: PageSizing = DEFAULT_PAGES,
    /** Read with this plan instead of the app's own (a copy's target, read back). */
    private readonly config?: CopyConfig,
  ) {}

  async readConfig(signal: AbortSignal): Promise<CopyConfig> {
    if (this.config) return this.config;
    const [catalog, rules] = await Promise.all([this.client.schema(signal), this.client.perms(signal)]);
    try {
      return configFromCatalog(catalog, rules, this.client.appId);
    } catch (error) {
      if (error instanceof CatalogFormatError)
        throw new CopyError('rejected', `the app's schema answer is unusable: ${error.message}`);
      throw error;
    }
  }

  async *readNamespace(plan: NamespacePlan, from: number, signal: AbortSignal): AsyncIterable<CopiedEntity[]> {
    const { min, max, targetBytes } = this.pages;
    let limit = this.pages.first;
    const children = Object.fromEntries(plan.links.map((link) => [link.label, { $: { fields: ['id'] } }]));
    const linkLabels = new Set(plan.links.map((link) => link.label));
    const notAttrs = new Set(['id', ...linkLabels, ...plan.skippedLinks]);
    for (let offset = from; ;) {
      const query = {
        [plan.name]: { $: { limit, offset, order: { serverCreatedAt: 'asc' } }, ...children },
      };
      const { body, bytes } = await this.client.query(query, signal);
      const rows = body[plan.name];
      if (!Array.isArray(rows)) throw new CopyError('rejected', `the query answer has no ${plan.name} list`);
      const page = rows.map((row) => toEntity(row, linkLabels, notAttrs, plan.name));
      if (page.length > 0) yield page;
      if (page.length < limit) return;
      offset += page.length;
      // Aim the next page at the target size, changing by at most 4x at a time.
      const perEntity = bytes / page.length;
      limit = Math.max(min, Math.min(max, limit * 4, Math.floor(targetBytes / perEntity)));
    }
  }

  counts(): null {
    return null;
  }

  expected(): null {
    return null;
  }

  async close(): Promise<void> {}
}

function toEntity(
  row: unknown,
  linkLabels: ReadonlySet<string>,
  notAttrs: ReadonlySet<string>,
  ns: string,
): CopiedEntity {
  if (typeof row !== 'object' || row === null || typeof (row as { id?: unknown }).id !== 'string')
    throw new CopyError('rejected', `an entity of ${ns} in the query answer has no id`);
  const record = row as Record<string, unknown>;
  const attrs: Record<string, unknown> = {};
  const links: Record<string, string[]> = {};
  for (const key in record) {
    if (linkLabels.has(key)) {
      const ids = linkedIds(record[key]);
      if (ids.length > 0) links[key] = ids;
    } else if (!notAttrs.has(key)) attrs[key] = record[key];
  }
  return { id: record['id'] as string, attrs, links };
}

/** Ids of a requested link: an array of `{id}` without inference (an object or null with it). */
function linkedIds(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === null || value === undefined ? [] : [value];
  const ids: string[] = [];
  for (const item of list) {
    const id = typeof item === 'string' ? item : (item as { id?: unknown } | null)?.id;
    if (typeof id === 'string') ids.push(id);
  }
  return ids;
}
