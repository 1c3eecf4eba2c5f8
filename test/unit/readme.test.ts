/** The README's configuration table and command list follow the code. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS, flagName } from '../../src/config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('has a configuration row for every setting, with its variable and flag', () => {
    const missing = (Object.keys(SETTINGS) as Array<keyof typeof SETTINGS>).filter((key) => {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${SETTINGS[key].env[0]}\``));
      return row === undefined || !row.includes(`\`${flagName(key)}\``);
    });
    expect(missing).toEqual([]);
    expect(Object.keys(SETTINGS).length).toBeGreaterThan(20);
  });

  it('lists every command', () => {
    for (const command of [
      'reconcile',
      'reconcile --once',
      'status',
      'retry',
      'gc',
      'template push',
      'rotate-token-key',
      'backup',
      'verify-archive',
      'restore',
      'migrate',
      'start',
      'sandbox',
    ])
      expect(readme).toContain(`| \`instant-provisioner ${command}`);
  });
});
