/** The seed of a chaos run: every random choice of the run (kills, faults, timing) follows from it. */

const MAX_SEED = 2 ** 31;

/**
 * `value` (from `CHAOS_SEED` or `--seed`) when given: a whole number in [0, 2^31); otherwise a
 * fresh random one. Throws, naming `source`, on anything else rather than run an unreplayable NaN.
 */
export function chaosSeed(value: string | undefined, source: string, random: () => number = Math.random): number {
  if (value === undefined || value.trim() === '') return Math.floor(random() * MAX_SEED);
  const seed = Number(value);
  if (!Number.isInteger(seed) || seed < 0 || seed >= MAX_SEED)
    throw new Error(`${source} must be a whole number from 0 to ${MAX_SEED - 1} (got "${value}")`);
  return seed;
}
