/**
 * The checks the real server runs on an app's rules before storing them (rule.clj
 * validation-errors): bind pairs, each allow/field rule parses as CEL, no field rule for `id`,
 * reserved `$` namespaces, `$rateLimits` an object. Entries are `{message, in}` as the server's.
 */
import { parse as parseCel } from '@marcbachmann/cel-js';
import type { ValidationEntry } from './errors.js';

const ACTIONS = ['view', 'create', 'update', 'delete'] as const;
const RULED_SYSTEM_NAMESPACES = new Set(['$users', '$files', '$default', '$streams', '$rateLimits']);

/** The server's validation errors for `rules`; empty when they may be stored. */
export function rulesValidationErrors(rules: unknown): ValidationEntry[] {
  if (!isObject(rules)) return [{ message: 'rules must be an object', in: [] }];
  const errors: ValidationEntry[] = [];
  for (const [etype, block] of Object.entries(rules)) {
    if (etype === '$rateLimits') {
      if (!isObject(block)) errors.push({ message: '$rateLimits must be an object', in: ['$rateLimits'] });
      continue;
    }
    const def = isObject(block) ? block : {};
    errors.push(...bindErrors(etype, def['bind']));
    const allow = isObject(def['allow']) ? def['allow'] : {};
    for (const action of ACTIONS) {
      if (etype.startsWith('$') && !RULED_SYSTEM_NAMESPACES.has(etype)) {
        errors.push({
          message: `The ${etype} namespace is a reserved internal namespace that does not yet support rules.`,
          in: [etype, 'allow', action],
        });
        continue;
      }
      errors.push(...expressionErrors(allow[action], [etype, 'allow', action]));
    }
    const fields = isObject(def['fields']) ? def['fields'] : {};
    for (const [field, rule] of Object.entries(fields)) {
      if (field === 'id') {
        errors.push({
          message: `You cannot set field rules for \`id\`. Use ${etype} -> allow -> view instead`,
          in: [etype, 'fields'],
        });
      } else errors.push(...expressionErrors(rule, [etype, 'fields', field]));
    }
  }
  return errors;
}

function bindErrors(etype: string, bind: unknown): ValidationEntry[] {
  if (bind === undefined || bind === null) return [];
  const flat = Array.isArray(bind) ? bind : isObject(bind) ? Object.entries(bind).flat() : [bind];
  if (flat.length % 2 !== 0) return [{ message: 'bind should have an even number of elements', in: [etype, 'bind'] }];
  const seen = new Set<unknown>();
  for (let i = 0; i < flat.length; i += 2) {
    if (seen.has(flat[i])) {
      return [{ message: 'bind should only contain a given variable name once', in: [etype, 'bind', String(flat[i])] }];
    }
    seen.add(flat[i]);
  }
  return [];
}

function expressionErrors(rule: unknown, path: string[]): ValidationEntry[] {
  if (rule === undefined || rule === null) return [];
  if (typeof rule !== 'string') return [{ message: 'There was an unexpected error evaluating the rules', in: path }];
  try {
    parseCel(rule);
    return [];
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
    return [{ message, in: path }];
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
