/**
 * The template every task database is created with: `--template-schema` and
 * `--template-perms`, checked once at start so a bad file stops the daemon with
 * one clear line instead of failing every create.
 *
 * Without perms the app is locked: an InstantDB app with no rules lets every
 * client read and write everything, so the default denies every client
 * operation and the admin token is the only way in.
 */
import { createHash } from 'node:crypto';
import { parse as parseCel } from '@marcbachmann/cel-js';
import { canonicalJson } from '../core/canonical-json.js';
import { rulesValidationErrors } from '../instant-rules.js';
import type { AppTemplate } from '../core/types.js';
import { readTemplateFile, TemplateError } from './read-template-file.js';

export { TemplateError } from './read-template-file.js';

/** Rules that deny every client: reads, writes, and new attributes. */
export const LOCKED_PERMS = Object.freeze({
  $default: { allow: { view: 'false', create: 'false', update: 'false', delete: 'false' } },
  attrs: { allow: { create: 'false' } },
});

export interface TemplatePaths {
  schema?: string | undefined;
  perms?: string | undefined;
}

/** Reads and checks the template files; throws TemplateError naming the file. */
export async function loadTemplate(paths: TemplatePaths): Promise<AppTemplate> {
  const schema = paths.schema === undefined ? null : checkSchema(paths.schema, await readTemplateFile(paths.schema));
  const perms =
    paths.perms === undefined ? lockedPerms() : checkPerms(paths.perms, await readTemplateFile(paths.perms));
  return { hash: templateHash(schema, perms), schema, perms };
}

/** The template with no files: no schema, locked rules. */
export function lockedTemplate(): AppTemplate {
  const perms = lockedPerms();
  return { hash: templateHash(null, perms), schema: null, perms };
}

function lockedPerms(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(LOCKED_PERMS)) as Record<string, unknown>;
}

/** A short digest of the template's content; key order does not matter. */
export function templateHash(schema: unknown, perms: unknown): string {
  return createHash('sha256').update(canonicalJson({ schema, perms })).digest('hex').slice(0, 16);
}

function checkSchema(file: string, value: unknown): Record<string, unknown> {
  if (!isObject(value)) throw new TemplateError(file, 'must export a schema object (i.schema({...}))');
  const entities = value['entities'];
  if (!isObject(entities) || Object.keys(entities).length === 0) {
    throw new TemplateError(file, 'the schema has no entities');
  }
  for (const [name, entity] of Object.entries(entities)) {
    if (!isObject(entity) || (entity['attrs'] !== undefined && !isObject(entity['attrs']))) {
      throw new TemplateError(file, `entity "${name}" is not an i.entity({...}) object`);
    }
  }
  if (value['links'] !== undefined && !isObject(value['links'])) {
    throw new TemplateError(file, 'links must be an object');
  }
  return value;
}

const ALLOW_ACTIONS = new Set(['view', 'create', 'update', 'delete', 'link', 'unlink', '$default']);

/**
 * The shape of the rules, then the server's own checks (src/instant-rules.ts: every rule
 * compiled with its binds and its action's variables), so a rule the server would refuse, which
 * would fail every create, stops the daemon at start instead.
 */
function checkPerms(file: string, value: unknown): Record<string, unknown> {
  if (!isObject(value)) throw new TemplateError(file, 'must export a rules object ({ namespace: { allow: {...} } })');
  for (const [namespace, block] of Object.entries(value)) {
    if (namespace === '$rateLimits') continue;
    const where = (path: string) => `${namespace}.${path}`;
    if (!isObject(block)) throw new TemplateError(file, `${namespace} must be an object with allow / fields / bind`);
    const allow = block['allow'];
    if (allow !== undefined) {
      if (!isObject(allow)) throw new TemplateError(file, `${where('allow')} must be an object`);
      for (const [action, rule] of Object.entries(allow)) {
        if (!ALLOW_ACTIONS.has(action)) throw new TemplateError(file, `${where(`allow.${action}`)} is not an action`);
        if ((action === 'link' || action === 'unlink') && isObject(rule)) {
          for (const [label, expression] of Object.entries(rule))
            checkRule(file, where(`allow.${action}.${label}`), expression);
        } else {
          checkRule(file, where(`allow.${action}`), rule);
        }
      }
    }
    const fields = block['fields'];
    if (fields !== undefined) {
      if (!isObject(fields)) throw new TemplateError(file, `${where('fields')} must be an object`);
      for (const [field, rule] of Object.entries(fields)) {
        if (field === 'id') throw new TemplateError(file, `${where('fields.id')}: use ${namespace}.allow.view instead`);
        checkRule(file, where(`fields.${field}`), rule);
      }
    }
    const bind = block['bind'];
    if (bind !== undefined) checkBind(file, where('bind'), bind);
  }
  const [first, ...more] = rulesValidationErrors(value);
  if (first !== undefined) {
    const others = more.length === 0 ? '' : ` (and ${more.length} more)`;
    throw new TemplateError(file, `${first.in.join('.')} does not compile: ${first.message}${others}`);
  }
  return value;
}

function checkBind(file: string, where: string, bind: unknown): void {
  const pairs: Array<[unknown, unknown]> = [];
  if (Array.isArray(bind)) {
    if (bind.length % 2 !== 0) throw new TemplateError(file, `${where} should have an even number of elements`);
    for (let i = 0; i < bind.length; i += 2) pairs.push([bind[i], bind[i + 1]]);
  } else if (isObject(bind)) {
    pairs.push(...Object.entries(bind));
  } else {
    throw new TemplateError(file, `${where} must be an array [name, rule, …] or an object`);
  }
  const names = new Set<unknown>();
  for (const [name, rule] of pairs) {
    if (typeof name !== 'string') throw new TemplateError(file, `${where}: a variable name is not a string`);
    if (names.has(name)) throw new TemplateError(file, `${where} should only contain "${name}" once`);
    names.add(name);
    checkRule(file, `${where}.${name}`, rule);
  }
}

function checkRule(file: string, where: string, rule: unknown): void {
  if (typeof rule !== 'string') {
    throw new TemplateError(
      file,
      `${where} must be a string (a CEL expression such as "true"), got ${JSON.stringify(rule)}`,
    );
  }
  try {
    parseCel(rule);
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new TemplateError(file, `${where} is not a valid CEL expression (${message})`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
