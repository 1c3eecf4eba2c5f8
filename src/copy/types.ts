/**
 * The copy engine's ports: a CopySource reads an app's schema, rules and entities page by page;
 * a CopySink writes them. An app over HTTP and an archive directory are each both; `copy` (copy.ts)
 * streams any source into any sink and verifies the result.
 */

/** The schema as `i.schema(...)` serialises and a create or schema push takes (`entities`, `links`). */
export interface SchemaDefs {
  entities: Record<string, { attrs: Record<string, AttrDef> }>;
  links: Record<string, LinkDef>;
}

/** One attribute in the schema definition format. */
export interface AttrDef {
  /** `string`, `number`, `boolean`, `date` (type-checked) or `any`. */
  valueType: string;
  required?: boolean;
  config: { indexed: boolean; unique: boolean };
}

/** One link in the schema definition format. */
export interface LinkDef {
  forward: { on: string; label: string; has: 'one' | 'many'; required?: boolean; onDelete?: 'cascade' };
  reverse: { on: string; label: string; has: 'one' | 'many'; onDelete?: 'cascade' };
}

/** A forward link a namespace's entities carry, copied with them. */
export interface LinkPlan {
  label: string;
  /** The namespace of the linked entities. */
  target: string;
  /** `one`: a has-one forward side (the archive writes one id, not a list). */
  has: 'one' | 'many';
}

/** One namespace to copy, and the forward links that travel with its entities. */
export interface NamespacePlan {
  name: string;
  links: LinkPlan[];
  /**
   * Forward links of the namespace that are not copied (they point into a namespace that is not,
   * like `$files`): their labels are never read as attributes.
   */
  skippedLinks: string[];
}

/** Everything about an app except its entities: what a copy writes first. */
export interface CopyConfig {
  schema: SchemaDefs;
  /** The app's permission rules, or null when it has none stored. */
  rules: Record<string, unknown> | null;
  /** What is copied, in order. */
  namespaces: NamespacePlan[];
  /** The app the data came from, when known. */
  sourceAppId: string | null;
}

/** One entity: its plain attributes and its forward links (label → ids of the linked entities). */
export interface CopiedEntity {
  id: string;
  attrs: Record<string, unknown>;
  /** Only non-empty links; the order of ids does not matter. */
  links: Record<string, string[]>;
}

/** What a source knows it holds before it is read (an archive's manifest). */
export interface ExpectedContent {
  namespaces: Record<string, { count: number; checksum: string }>;
}

/** A place to copy from. */
export interface CopySource {
  readConfig(signal: AbortSignal): Promise<CopyConfig>;
  /**
   * The entities of one namespace in pages, in a stable order (creation order for an app, file
   * order for an archive), starting `from` entities in. Pages are bounded: never the whole
   * namespace at once.
   */
  readNamespace(plan: NamespacePlan, from: number, signal: AbortSignal): AsyncIterable<CopiedEntity[]>;
  /** Entity counts per namespace when known without reading (an archive's), else null. */
  counts(): Record<string, number> | null;
  /** Counts and checksums the content must match when read (an archive's manifest), else null. */
  expected(): ExpectedContent | null;
  close(): Promise<void>;
}

/** A place to copy into. */
export interface CopySink {
  /** Whether a copy into it may continue from a checkpoint (an app: writes are upserts). */
  readonly resumable: boolean;
  /** Takes the schema and rules; called once per copy, before any page. */
  begin(config: CopyConfig, signal: AbortSignal): Promise<void>;
  /** Writes one page of a namespace's entities (ids kept; written again, they stay one copy). */
  writePage(plan: NamespacePlan, page: CopiedEntity[], signal: AbortSignal): Promise<void>;
  /** Makes everything written durable; returns a source that reads it back, to verify. */
  finish(signal: AbortSignal): Promise<CopySource>;
  /** Bytes written, once finished, when the sink knows (an archive's size); else null. */
  sizeBytes(): number | null;
  /** Called once the copy verified (an archive writes its manifest now, last). */
  commit(result: CopyResult, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Counts and content checksum of one namespace. */
export interface NamespaceSummary {
  count: number;
  /** Order-independent content checksum (see checksum.ts), hex. */
  checksum: string;
}

/** What a finished, verified copy holds. */
export interface CopyResult {
  namespaces: Record<string, NamespaceSummary>;
  entityCount: number;
  /** Checksum over every namespace's content, hex. */
  checksum: string;
  /** Bytes the sink wrote, when it knows (an archive's size), else null. */
  sizeBytes: number | null;
  verified: boolean;
}

/**
 * Where a copy stands after a page was written: with it, a copy into a resumable sink that was
 * stopped continues where it was. Small and JSON-serialisable, so a caller may store it.
 */
export interface CopyCheckpoint {
  version: 1;
  /** Namespaces fully copied, with what they held. */
  done: Record<string, { count: number; sum: string }>;
  /** The namespace being copied, how many of its entities are written, and their running sum. */
  current: { namespace: string; count: number; sum: string } | null;
}

/** Progress of a copy, reported after every page. */
export interface CopyProgress {
  phase: 'copy' | 'verify';
  namespace: string;
  /** Entities copied (or verified) so far, all namespaces. */
  entities: number;
  /** Entities in all, when the source knows; null otherwise. */
  total: number | null;
  /** Only in the copy phase: what a resumed copy starts from. */
  checkpoint?: CopyCheckpoint;
}
