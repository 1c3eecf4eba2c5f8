/**
 * The copy engine's public face: `copy(source, sink, options)` between any of
 *
 *   - `new AppSource(new AppClient(address))`  an app over its admin API (its own admin token)
 *   - `await ArchiveSource.open(dir)`           an archive directory, checked whole on open
 *   - `new AppSink(new AppClient(address))`     an app: schema push, rules, upserts and links
 *   - `new ArchiveSink(dir)`                    an archive directory, manifest written last
 *
 * See docs/archive-format.md for the archive, and copy.ts for the steps and guarantees.
 */
export { copy, type CopyOptions } from './copy.js';
export { AppClient, type AppAddress, type AppClientOptions } from './app-client.js';
export { AppSource, DEFAULT_PAGES, type PageSizing } from './app-source.js';
export { AppSink, type AppSinkOptions } from './app-sink.js';
export { ArchiveSource, type OpenArchiveOptions } from './archive-source.js';
export { ArchiveSink } from './archive-sink.js';
export { RatePause } from './rate-pause.js';
export { configFromCatalog, isCopiedNamespace } from './schema-defs.js';
export { MANIFEST_FILE, type ArchiveManifest } from './archive-format.js';
export type * from './types.js';
