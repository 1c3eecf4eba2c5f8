/** The chaos run's seed: CHAOS_SEED or --seed when set, a random one otherwise, never NaN. */
import { describe, expect, it } from 'vitest';
import { chaosSeed } from '../chaos/seed.js';

describe('chaosSeed', () => {
  it('takes the given seed', () => {
    expect(chaosSeed('20261127', 'CHAOS_SEED')).toBe(20261127);
    expect(chaosSeed(' 0 ', 'CHAOS_SEED')).toBe(0);
  });

  it('draws one when none is given', () => {
    expect(chaosSeed(undefined, 'CHAOS_SEED', () => 0.5)).toBe(2 ** 30);
    expect(chaosSeed('', 'CHAOS_SEED', () => 0)).toBe(0);
  });

  it('refuses a seed it could not replay, naming where it came from', () => {
    for (const bad of ['abc', '1.5', '-1', String(2 ** 31)])
      expect(() => chaosSeed(bad, 'CHAOS_SEED')).toThrow(`CHAOS_SEED must be a whole number from 0 to ${2 ** 31 - 1}`);
  });
});
