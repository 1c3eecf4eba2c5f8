/**
 * The copy engine: any CopySource into any CopySink (an app, an archive), streaming and verified.
 *
 *   1. read the source's config (schema, rules, what to copy) and hand it to the sink;
 *   2. per namespace, page by page: add each entity to the namespace's content checksum, write
 *      the page (the next page is read meanwhile), report progress with a checkpoint;
 *   3. a source that knows its content (an archive's manifest) must match what was read;
 *   4. the sink makes its writes durable and gives a source over them: the copy is read back and
 *      must have the same counts and checksums, namespace by namespace;
 *   5. only then the sink commits (an archive's manifest is written last).
 *
 * A copy that fails at any step throws (a CopyError, or AbortedError when `signal` aborted) and
 * leaves the sink uncommitted. Run again, it ends with one copy of each entity (ids are kept and
 * writes are upserts); with the last checkpoint, a resumable sink continues where it stopped.
 */
import { AbortedError } from '../clock.js';
import { CopyError } from '../errors.js';
import { ContentSum } from './checksum.js';
import type {
  CopiedEntity,
  CopyCheckpoint,
  CopyProgress,
  CopyResult,
  CopySink,
  CopySource,
  NamespacePlan,
  NamespaceSummary,
} from './types.js';

export interface CopyOptions {
  signal?: AbortSignal;
  /** Called after every page written (copy) or read back (verify). Must be cheap. */
  onProgress?: (progress: CopyProgress) => void;
  /** Read the copy back and compare (default true). Only tests and benchmarks turn it off. */
  verify?: boolean;
  /** A checkpoint from an earlier run's progress; ignored unless the sink is resumable. */
  resumeFrom?: CopyCheckpoint | null;
}

/** Copies `source` into `sink`; resolves with what the verified copy holds. */
export async function copy(source: CopySource, sink: CopySink, options: CopyOptions = {}): Promise<CopyResult> {
  const signal = options.signal ?? new AbortController().signal;
  const report = options.onProgress ?? (() => {});
  const config = await source.readConfig(signal);
  const counts = source.counts();
  const total = counts ? config.namespaces.reduce((sum, plan) => sum + (counts[plan.name] ?? 0), 0) : null;
  const resume = options.resumeFrom && sink.resumable ? options.resumeFrom : null;
  await sink.begin(config, signal);

  const done: CopyCheckpoint['done'] = {};
  const sums = new Map<string, ContentSum>();
  let entities = 0;
  for (const plan of config.namespaces) {
    const finished = resume?.done[plan.name];
    if (finished) {
      done[plan.name] = finished;
      sums.set(plan.name, ContentSum.from(finished.sum, finished.count));
      entities += finished.count;
      continue;
    }
    const current = resume?.current?.namespace === plan.name ? resume.current : null;
    const sum = current ? ContentSum.from(current.sum, current.count) : new ContentSum();
    entities += sum.count;
    for await (const page of readAhead(source.readNamespace(plan, sum.count, signal))) {
      checkAborted(signal);
      for (const entity of page) sum.add(plan.name, entity);
      await sink.writePage(plan, page, signal);
      entities += page.length;
      const checkpoint: CopyCheckpoint = {
        version: 1,
        done: { ...done },
        current: { namespace: plan.name, count: sum.count, sum: sum.hex },
      };
      report({ phase: 'copy', namespace: plan.name, entities, total, checkpoint });
    }
    sums.set(plan.name, sum);
    done[plan.name] = { count: sum.count, sum: sum.hex };
  }
  checkAborted(signal);
  const result = summarize(config.namespaces, sums);
  compareExpected(source, result);

  const back = await sink.finish(signal);
  try {
    if (options.verify !== false) await verify(back, config.namespaces, result, signal, report);
  } finally {
    await back.close();
  }
  result.sizeBytes = sink.sizeBytes();
  result.verified = options.verify !== false;
  await sink.commit(result, signal);
  return result;
}

/** Reads the copy back and compares it with what was read from the source, namespace by namespace. */
async function verify(
  back: CopySource,
  plans: NamespacePlan[],
  expected: CopyResult,
  signal: AbortSignal,
  report: (progress: CopyProgress) => void,
): Promise<void> {
  let entities = 0;
  for (const plan of plans) {
    const sum = new ContentSum();
    for await (const page of readAhead(back.readNamespace(plan, 0, signal))) {
      checkAborted(signal);
      for (const entity of page) sum.add(plan.name, entity);
      entities += page.length;
      report({ phase: 'verify', namespace: plan.name, entities, total: expected.entityCount });
    }
    const wanted = expected.namespaces[plan.name]!;
    if (sum.count !== wanted.count)
      throw new CopyError(
        'verify-failed',
        `verify failed: ${plan.name} has ${sum.count} entities in the copy and ${wanted.count} in the source`,
      );
    if (sum.hex !== wanted.checksum)
      throw new CopyError('verify-failed', `verify failed: the content of ${plan.name} differs from the source`);
  }
  checkAborted(signal);
}

/** A source that states its content (an archive's manifest) must hold exactly that. */
function compareExpected(source: CopySource, result: CopyResult): void {
  const expected = source.expected();
  if (!expected) return;
  for (const [ns, summary] of Object.entries(result.namespaces)) {
    const wanted = expected.namespaces[ns];
    if (!wanted || wanted.count !== summary.count || wanted.checksum !== summary.checksum)
      throw new CopyError(
        'archive-invalid',
        `archive invalid: the entities of ${ns} do not match the manifest's count and checksum`,
      );
  }
}

function summarize(plans: NamespacePlan[], sums: Map<string, ContentSum>): CopyResult {
  const namespaces: Record<string, NamespaceSummary> = {};
  let all = new ContentSum();
  for (const plan of plans) {
    const sum = sums.get(plan.name)!;
    namespaces[plan.name] = { count: sum.count, checksum: sum.hex };
    all = all.plus(sum);
  }
  return { namespaces, entityCount: all.count, checksum: all.hex, sizeBytes: null, verified: false };
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new AbortedError();
}

/**
 * Asks for the next page as soon as one is handed out, so reading page n + 1 overlaps writing
 * page n; at most two pages are held. A consumer that stops early leaves the read to finish and
 * closes the source behind it.
 */
async function* readAhead(pages: AsyncIterable<CopiedEntity[]>): AsyncIterable<CopiedEntity[]> {
  const iterator = pages[Symbol.asyncIterator]();
  let next = iterator.next();
  let finished = false;
  try {
    for (;;) {
      const step = await next;
      if (step.done) {
        finished = true;
        return;
      }
      next = iterator.next();
      yield step.value;
    }
  } finally {
    if (!finished) {
      next.then(
        () => void Promise.resolve(iterator.return?.()).catch(() => {}),
        () => {},
      );
    }
  }
}
