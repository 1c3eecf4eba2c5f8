import { wordList } from './word-list.js';

/**
 * The middle word of a database name: colours named after stones, metals, plants, food and dyes.
 * Left out on purpose: black, white, brown and yellow (also words for people's skin), grey/gray
 * (two spellings), colours with a rude second meaning ("cherry", "melon"), and a few whose end
 * runs into a noun's start to spell a slur or a rude word once the hyphens are dropped ("lapis",
 * "khaki"; test/unit/database-names.test.ts checks every pairing).
 */
export const COLOURS: readonly string[] = wordList(`
  amber apricot aqua auburn azure beige beryl blue blush brass brick bronze burgundy butter canary
  caramel carrot cerise charcoal chestnut chocolate cinnamon citron clay cobalt cocoa coffee
  copper coral cornflower cream crimson cyan denim ecru emerald fawn flax garnet gold grape graphite green
  hazel heather henna honey indigo iron ivory jade lavender lemon lilac lime linen magenta
  mahogany maize malachite mango maroon mauve mint mocha mulberry mustard navy oat ochre olive orange paprika
  peach pearl pewter pink pistachio platinum plum porcelain pumpkin purple red rose ruby russet sable
  saffron sage salmon sand sapphire scarlet seafoam sepia sienna silver slate steel straw tan taupe
  tawny teal toffee topaz turquoise umber vanilla violet wheat wisteria
`);
