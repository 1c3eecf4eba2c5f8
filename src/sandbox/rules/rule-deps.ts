/**
 * The (namespace, label) pairs a rule-filtered query's visibility depends on, in the keys of
 * `CompiledQuery.deps` (`ns\0label`, `ns\0$blobs` for every plain attribute of ns): for each
 * namespace the query reads, its `view` rule and its `fields` rules, through `ruleReads`.
 * A live query recomputes when a transaction touches one of these or one of its own deps.
 */
import type { AttrCatalog } from '../schema.js';
import { linkHop } from '../where.js';
import type { RuleSet } from './program.js';

/** The dependencies of the rules of `namespaces`, or null when some rule could read anything. */
export function ruleDependencies(
  rules: RuleSet,
  catalog: AttrCatalog,
  namespaces: Iterable<string>,
): Set<string> | null {
  const deps = new Set<string>();
  const walk = (from: string, path: string) => {
    const segments = path.split('.');
    let ns = from;
    for (const segment of segments.slice(0, -1)) {
      deps.add(`${ns}\u0000${segment}`);
      const hop = linkHop(catalog, ns, segment);
      // A path that leads nowhere reads nothing until the catalogue changes, which recompiles.
      if (!hop) return;
      ns = hop.ns;
    }
    deps.add(`${ns}\u0000${segments[segments.length - 1]!}`);
  };
  for (const ns of new Set(namespaces)) {
    const labels = [...catalog.blobsOf(ns)].map((a) => a.label);
    for (const ref of catalog.fwdRefsOf(ns)) labels.push(ref.label);
    const programs = [rules.program(ns, 'view'), ...labels.map((label) => rules.fieldProgram(ns, label))];
    deps.add(`${ns}\u0000$blobs`);
    for (const program of programs) {
      if (!program) continue;
      const reads = program.reads;
      if (!reads) return null;
      for (const path of reads.dataRefs) walk(ns, path);
      for (const path of reads.authRefs) walk('$users', path);
      for (const field of reads.authFields) {
        if (field === '*') deps.add('$users\u0000$blobs');
        else if (field !== 'id') deps.add(`$users\u0000${field}`);
      }
    }
  }
  return deps;
}
