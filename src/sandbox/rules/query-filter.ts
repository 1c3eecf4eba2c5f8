/**
 * What an impersonated reader may see of an app, for one run of a query (instaql.clj ›
 * permissioned-query): an entity when its namespace's `view` rule passes, an attribute (or a
 * forward link label) when its `fields` rule passes too; a missing rule allows. Answers are
 * cached for the run, since a rule may be asked about the same entity many times.
 *
 * Not reproduced: the server runs the query first and filters rows after (except where its
 * rule-wheres turned a view rule into a `where`); the sandbox filters before `limit` in every
 * case, so a page is never short. Page cursors are computed from what the reader sees.
 */
import type { AppUser } from '../app-users.js';
import type { Json } from '../errors.js';
import type { Visibility } from '../where.js';
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

  constructor(app: RuledApp, reader: Reader) {
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

  private passes(program: ReturnType<RuleSet['fieldProgram']>, ns: string, id: string): boolean {
    if (!program) return true;
    const data = this.data.map(ns, this.data.entity(ns, id) ?? { id });
    return program.passes({ auth: this.auth, data, ruleParams: this.ruleParams }, this.data.refs);
  }
}
