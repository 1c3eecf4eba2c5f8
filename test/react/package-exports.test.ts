/**
 * The kit as a user's app imports it: `instant-provisioner/react` (built JavaScript with types, marked
 * for React Server Components as client code) and `instant-provisioner/react/styles.css`, resolved
 * through the package's `exports` (needs `npm run build`, which `npm test` runs first).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('resolves instant-provisioner/react to the built kit, its types and its stylesheet', async () => {
  const entry = import.meta.resolve('instant-provisioner/react');
  expect(entry).toMatch(/\/dist\/src\/react\/index\.js$/);
  const kit = (await import('instant-provisioner/react' as string)) as Record<string, unknown>;
  expect(Object.keys(kit).sort()).toEqual([
    'DatabaseStatus',
    'requestDatabaseRetry',
    'taskDatabaseQuery',
    'useTaskDatabase',
  ]);
  expect(readFileSync(fileURLToPath(entry), 'utf8').startsWith("'use client';")).toBe(true);
  expect(existsSync(fileURLToPath(entry).replace(/\.js$/, '.d.ts'))).toBe(true);
  const css = readFileSync(fileURLToPath(import.meta.resolve('instant-provisioner/react/styles.css')), 'utf8');
  expect(css).toContain('.ip-database-status__spinner');
});
