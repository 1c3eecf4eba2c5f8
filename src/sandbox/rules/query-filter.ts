/**
 * What an impersonated reader may see of an app, for one run of a query (instaql.clj ›
 * permissioned-query): an entity when its namespace's `view` rule passes, an attribute (or a
 * forward link label) when its `fields` rule passes too; a missing rule allows. Answers are
 * cached for the run, since a rule may be asked about the same entity many times.
 *
 * A view rule that requires `auth.id in data.ref(path)` also narrows the query's candidates to
 * entities whose `path` reaches the user (`prefilter`, the server's rule-wheres), so a user's query
 * checks their own entities rather than every entity of the namespace.
 *
 * Not reproduced: the server runs the query first and filters rows after (except where its
 * rule-wheres turned a view rule into a `where`); the sandbox filters before `limit` in every
 * case, so a page is never short. Page cursors are computed from what the reader sees.
 */
import type { AppUser } from '../app-users.js';
import type { Json } from '../errors.js';
import { compileWhere, UnresolvablePath, type Cond, type Visibility } from '../where.js';
import { rulesFor, toRuleValue, type RuleSet, type RuleValue } from './program.js';
import { RuleData, type RuleDataSource } from './rule-data.js';

/** Who is asking when rules apply: a signed-in user, or a guest (null). */
export interface Reader {
  readonly user: AppUser | null;
  /** The query's `$$ruleParams`, or a transaction's `ruleParams` steps. */
  readonly ruleParams?: Json;
}

/** An app as rules need it: its data and its stored perms. */
export interface RuledApp extends RuleDataSource {
  readonly perms: Json;
}

/** Visibility of one app's data to one reader, decided by the app's rules. */
export class RuleVisibility implements Visibility {
  private readonly rules: RuleSet;
  private readonly data: RuleData;
  private readonly auth: RuleValue;
  private readonly ruleParams: RuleValue;
  private readonly entities = new Map<string, boolean>();
  private readonly fields = new Map<string, boolean>();
  private readonly prefilters = new Map<string, Cond | null | undefined>();
  private readonly maps = new Map<string, RuleValue>();
  private readonly userId: string | null;

  constructor(
    private readonly app: RuledApp,
    reader: Reader,
  ) {
    this.userId = reader.user?.id ?? null;
    this.rules = rulesFor(app.perms);
    this.data = new RuleData(app);
    this.auth = this.data.auth(reader.user);
    this.ruleParams = toRuleValue(reader.ruleParams ?? {});
  }

  entity(ns: string, id: string): boolean {
    const key = `${ns}\u0000${id}`;
    let seen = this.entities.get(key);
    if (seen === undefined) {
      seen = this.passes(this.rules.program(ns, 'view'), ns, id);
      this.entities.set(key, seen);
    }
    return seen;
  }

  field(ns: string, id: string, label: string): boolean {
    if (label === 'id') return true;
    const key = `${ns}\u0000${id}\u0000${label}`;
    let seen = this.fields.get(key);
    if (seen === undefined) {
      seen = this.passes(this.rules.fieldProgram(ns, label), ns, id);
      this.fields.set(key, seen);
    }
    return seen;
  }

  prefilter(ns: string): Cond | null | undefined {
    if (this.prefilters.has(ns)) return this.prefilters.get(ns);
    const [path] = this.rules.program(ns, 'view')?.ownerPaths ?? [];
    let cond: Cond | null | undefined;
    if (path !== undefined) {
      try {
        // `auth.id in ...` never holds for a guest: ref values are never null.
        cond = this.userId === null ? null : compileWhere(this.app.catalog, ns, { [path]: this.userId }, null);
      } catch (error) {
        if (!(error instanceof UnresolvablePath)) throw error;
        cond = null; // a path that leads nowhere yields no values, so the rule holds for nothing
      }
    }
    this.prefilters.set(ns, cond);
    return cond;
  }

  private passes(program: ReturnType<RuleSet['fieldProgram']>, ns: string, id: string): boolean {
    if (!program) return true;
    // One `data` map per entity for the run: its view rule and every field rule read the same one.
    const key = `${ns}\u0000${id}`;
    let data = this.maps.get(key);
    if (data === undefined) {
      data = this.data.map(ns, this.data.entity(ns, id) ?? { id });
      this.maps.set(key, data);
    }
    return program.passes({ auth: this.auth, data, ruleParams: this.ruleParams }, this.data.refs);
  }
}
