/**
 * Human names for the databases the daemon creates: adjective-colour-noun, like
 * `swift-teal-river`, drawn from short curated lists (see each list's file for what was left out).
 */
import { ADJECTIVES } from './adjectives.js';
import { COLOURS } from './colours.js';
import { NATURE_NOUNS } from './nature-nouns.js';

export { ADJECTIVES, COLOURS, NATURE_NOUNS };

/** How many different names `generateName` can return. */
export const NAME_COMBINATIONS = ADJECTIVES.length * COLOURS.length * NATURE_NOUNS.length;

/**
 * A random name: one adjective, one colour and one nature noun, each drawn uniformly, joined with
 * hyphens (always `^[a-z]+-[a-z]+-[a-z]+$`).
 *
 * Not unique on its own: uniqueness is decided by the main app's schema (a unique `name`
 * attribute on `databases`), and the daemon draws again when a write collides. A draw collides
 * with probability (names in use) / {@link NAME_COMBINATIONS}: under 0.5% with 100,000 databases.
 *
 * @param random returns a number in [0, 1), called three times (adjective, colour, noun);
 *   pass a seeded generator to make names reproducible. Names are not secrets, so
 *   `Math.random` is enough by default.
 * @throws RangeError if `random` returns anything outside [0, 1).
 */
export function generateName(random: () => number = Math.random): string {
  return [pick(ADJECTIVES, random), pick(COLOURS, random), pick(NATURE_NOUNS, random)].join('-');
}

function pick(list: readonly string[], random: () => number): string {
  const value = random();
  // A value of 1 or NaN would index past the list and make "undefined" part of a name.
  if (!(value >= 0 && value < 1)) throw new RangeError(`random() must return a number in [0, 1), got ${value}`);
  return list[Math.floor(value * list.length)]!;
}
