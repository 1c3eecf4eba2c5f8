import { describe, expect, it } from 'vitest';
import { ADJECTIVES, COLOURS, NAME_COMBINATIONS, NATURE_NOUNS, generateName } from '../../src/names/generate-name.js';
import { BLOCKED_EVEN_INSIDE_WORDS, BLOCKED_WORDS } from './blocked-words.js';

const LISTS = { ADJECTIVES, COLOURS, NATURE_NOUNS };

/** mulberry32: a tiny seeded PRNG, so the statistical checks give the same answer every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Returns the given values in turn. */
function sequence(...values: number[]): () => number {
  let next = 0;
  return () => values[next++ % values.length]!;
}

/** Words of `list` that are blocked, or that contain a root blocked even inside words. */
function blockedIn(list: readonly string[]): string[] {
  const blocked = new Set(BLOCKED_WORDS);
  return list.filter((word) => blocked.has(word) || BLOCKED_EVEN_INSIDE_WORDS.some((root) => word.includes(root)));
}

/**
 * Names that, written without their hyphens ("violetwaterfall"), hold a blocked word across a
 * word boundary ("twat"), one example per blocked word and cut, found without generating all the
 * names: the word splits into a head that ends one list word and a tail that starts the next (or
 * covers a whole colour and starts a noun). Only roots blocked even inside words and blocked words
 * of six letters or more count: shorter ones cross boundaries by chance ("plum-pond" holds
 * "plump", "civil-lime" holds "ill"), and the hyphens of a shown name keep them apart.
 */
function blockedAcrossBoundaries(adjectives: readonly string[], colours: readonly string[], nouns: readonly string[]) {
  const words = new Set([...BLOCKED_WORDS.filter((word) => word.length >= 6), ...BLOCKED_EVEN_INSIDE_WORDS]);
  const ending = (list: readonly string[], part: string) => list.find((word) => word.endsWith(part));
  const starting = (list: readonly string[], part: string) => list.find((word) => word.startsWith(part));
  const found: string[] = [];
  for (const word of words) {
    for (let cut = 1; cut < word.length; cut++) {
      const head = word.slice(0, cut);
      const tail = word.slice(cut);
      const adjective = ending(adjectives, head);
      if (adjective !== undefined) {
        const colour = starting(colours, tail);
        if (colour !== undefined) found.push(`${word}: ${adjective}-${colour}-…`);
        for (const short of colours.filter((c) => tail.length > c.length && tail.startsWith(c))) {
          const noun = starting(nouns, tail.slice(short.length));
          if (noun !== undefined) found.push(`${word}: ${adjective}-${short}-${noun}`);
        }
      }
      const colour = ending(colours, head);
      const noun = starting(nouns, tail);
      if (colour !== undefined && noun !== undefined) found.push(`${word}: …-${colour}-${noun}`);
    }
  }
  return found;
}

describe('database name lists', () => {
  it.each(Object.entries(LISTS))('%s: lowercase ASCII letters only, at most ten', (_name, list) => {
    expect(list.filter((word) => !/^[a-z]{1,10}$/.test(word))).toEqual([]);
  });

  it.each(Object.entries(LISTS))('%s: no duplicates', (_name, list) => {
    expect(list.filter((word, index) => list.indexOf(word) !== index)).toEqual([]);
  });

  it('share no word, so a name never repeats one', () => {
    const adjectives = new Set(ADJECTIVES);
    const colours = new Set(COLOURS);
    expect(COLOURS.filter((word) => adjectives.has(word))).toEqual([]);
    expect(NATURE_NOUNS.filter((word) => adjectives.has(word) || colours.has(word))).toEqual([]);
  });

  it('are read-only', () => {
    for (const list of Object.values(LISTS)) {
      expect(Object.isFrozen(list)).toBe(true);
      expect(() => (list as string[]).push('extra')).toThrow(TypeError);
    }
  });

  it('make at least ten million names', () => {
    expect(NAME_COMBINATIONS).toBe(ADJECTIVES.length * COLOURS.length * NATURE_NOUNS.length);
    expect(NAME_COMBINATIONS).toBeGreaterThanOrEqual(10_000_000);
  });
});

describe('blocked words', () => {
  it('the checks find a blocked word when there is one', () => {
    expect(blockedIn(['glass', 'stupid', 'grape', 'pissed'])).toEqual(['stupid', 'pissed']);
    expect(blockedAcrossBoundaries(['calm'], ['violet'], ['waterfall'])).toEqual(['twat: …-violet-waterfall']);
    expect(blockedAcrossBoundaries(['fresh'], ['ochre'], ['pelican', 'reed'])).toEqual([]);
    expect(blockedAcrossBoundaries(['massive'], ['amber'], ['river'])).toEqual([]); // no boundary
    expect(blockedAcrossBoundaries(['civil'], ['lime'], ['river'])).toEqual([]); // "ill": too short
    // A blocked word may cover a whole short colour: "mur" + "de" + "rous" holds "murder".
    expect(blockedAcrossBoundaries(['mur'], ['de'], ['rous'])).toContain('murder: mur-de-rous');
    expect(blockedAcrossBoundaries(['calm'], ['killer'], ['river'])).toEqual([]); // inside one word
  });

  it('the old generator’s unfit words are in no list', () => {
    const all = new Set([...ADJECTIVES, ...COLOURS, ...NATURE_NOUNS]);
    expect(['stupid', 'naked', 'bloody', 'pregnant', 'dead', 'louse'].filter((word) => all.has(word))).toEqual([]);
  });

  it.each(Object.entries(LISTS))('%s: holds no blocked word', (_name, list) => {
    expect(blockedIn(list)).toEqual([]);
  });

  it('no name holds a blocked word across its word boundaries', () => {
    expect(blockedAcrossBoundaries(ADJECTIVES, COLOURS, NATURE_NOUNS)).toEqual([]);
  });

  it('generated names hold no blocked word, as words or written without hyphens (a sample)', () => {
    const blocked = new Set(BLOCKED_WORDS);
    const spanning = [...BLOCKED_WORDS.filter((word) => word.length >= 6), ...BLOCKED_EVEN_INSIDE_WORDS];
    const random = seeded(99);
    const bad: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const name = generateName(random);
      const parts = name.split('-');
      const joined = parts.join('');
      if (parts.some((part) => blocked.has(part))) bad.push(name);
      // Counted only where no single part holds the word itself ("skilled" may hold "kill").
      if (spanning.some((word) => joined.includes(word) && !parts.some((part) => part.includes(word)))) bad.push(name);
    }
    expect(bad).toEqual([]);
  });
});

describe('generateName', () => {
  it('is adjective-colour-noun, from the lists', () => {
    const random = seeded(1);
    for (let i = 0; i < 1_000; i++) {
      const name = generateName(random);
      expect(name).toMatch(/^[a-z]+-[a-z]+-[a-z]+$/);
      const [adjective, colour, noun] = name.split('-');
      expect(ADJECTIVES).toContain(adjective);
      expect(COLOURS).toContain(colour);
      expect(NATURE_NOUNS).toContain(noun);
    }
  });

  it('draws adjective, colour and noun from three calls to random, in that order', () => {
    expect(generateName(sequence(0, 0.999999, 0.5))).toBe(
      `${ADJECTIVES[0]}-${COLOURS.at(-1)}-${NATURE_NOUNS[Math.floor(NATURE_NOUNS.length / 2)]}`,
    );
  });

  it('is deterministic for a given random', () => {
    const names = (seed: number) => {
      const random = seeded(seed);
      return Array.from({ length: 20 }, () => generateName(random));
    };
    expect(names(42)).toEqual(names(42));
    expect(names(7)).not.toEqual(names(8));
  });

  it('uses every word of each list about equally often', () => {
    const random = seeded(2024);
    const draws = 200_000;
    const counts = Object.values(LISTS).map((list) => new Map(list.map((word) => [word, 0])));
    for (let i = 0; i < draws; i++) {
      generateName(random)
        .split('-')
        .forEach((word, position) => counts[position]!.set(word, counts[position]!.get(word)! + 1));
    }
    for (const count of counts) {
      const expected = draws / count.size;
      const chiSquare = [...count.values()].reduce((sum, seen) => sum + (seen - expected) ** 2 / expected, 0);
      const degrees = count.size - 1;
      // Five standard deviations above the mean: a skewed draw fails, a fair one (this seed) passes.
      expect(chiSquare).toBeLessThan(degrees + 5 * Math.sqrt(2 * degrees));
      expect(Math.min(...count.values())).toBeGreaterThan(0);
    }
  });

  it('refuses a random outside [0, 1) rather than make an "undefined" name', () => {
    for (const bad of [1, -0.1, Number.NaN, 2]) {
      expect(() => generateName(() => bad)).toThrow(RangeError);
    }
  });
});
