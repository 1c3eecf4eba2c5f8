import { wordList } from './word-list.js';

/**
 * The first word of a database name: pleasant or neutral, easy to spell, lowercase ASCII, at most
 * ten letters. Left out on purpose: words about bodies, looks, health, sex, death, violence or
 * intellect that read as insults ("stupid", "naked", "dead", "crazy", "fat"), words with a common
 * rude or drug meaning ("frisky", "stoned"), religious words ("holy", "blessed"), brand names
 * ("sonic"), and spellings that differ between US and UK English.
 */
export const ADJECTIVES: readonly string[] = wordList(`
  able abundant acoustic active adaptive adept aerial affable agile airy alert alpine amiable ample amused
  ancient angular animated arctic ardent aromatic artful artistic assured astute attentive august autumnal
  avid awake balmy bashful beaming beloved blissful blithe blooming blushing bold bonny boreal bouncy
  boundless bountiful brainy brave breezy bright brilliant brisk broad bubbly buoyant bustling busy calm
  calming candid canny capable carefree careful caring casual celestial certain charmed charming cheerful
  cheery chilly chipper chirpy choice civic civil classic clean clear clever cloudless cloudy coastal coherent
  comfy compact composed concise content cordial cosmic creative crested crisp cultured curious curly curved
  dainty dandy dapper daring dashing dazzling dear decent deep deft delicate delightful deluxe dependable
  devoted dewy diligent direct discreet distant distinct dotted dreamy drifting dulcet dutiful dynamic eager
  early earnest earthy eastern easy easygoing effortless elated electric elegant elfin eloquent eminent
  enchanted endearing endless enduring energetic epic equal esteemed even evergreen exact excited expert
  fabled fabulous fair faithful famed famous fancy fantastic fast fearless feathered feathery fervent festive
  fine firm flawless fleet floating floral flowing fluent fluffy focused fond forward fragrant frank free
  fresh friendly frosty frugal fruitful gallant gentle genuine giant gifted gilded giving glacial glad glassy
  gleaming gleeful global glorious glossy glowing good graceful gracious grand grassy grateful great grounded
  gusty hale handy happy hardy harmonious hazy hearty helpful heroic hidden hilly honest honeyed hopeful
  humble humming hushed iconic icy ideal immense infinite informed innate inspired intrepid inventive jaunty
  jazzy jolly jovial joyful joyous jubilant judicious just keen kind kindly kindred kinetic knowing laughing
  lavish lawful layered leading leafy learned legendary leisurely level light lilting limber limitless linear
  literate lithe little lively lofty logical lovely loyal lucid lucky luminous lunar lush lustrous lyrical
  magical magnetic majestic marbled marine maritime measured mellow melodic merry mighty mild mindful minty
  misty mobile modern modest moonlit mossy musical mystic natural nautical nearby neat nifty nimble noble
  nomadic northern notable noted novel oceanic open optimal orbital orderly organic original ornate oval
  pacific pastoral patient peaceful pearly pebbled pensive peppy perfect pithy placid plain playful pleasant
  pleased plucky plumed plush poetic poised polar polished polite popular practical precious precise prime
  pristine prized profound prompt proper proud prudent quaint quick quiet quirky radiant rainy rapid rare
  rational ready real refined regal relaxed reliable resolute restful ringing rippling rising robust rocky
  rolling roomy rosy round rousing roving royal rugged rustic rustling safe sandy satin savvy scenic seasonal
  secure selfless sensible serene sharp sheltered shining shiny shy silent silken silky silvery simple sincere
  skilled skyward sleek sleepy smart smiling smooth snappy snowy snug soaring social soft solar solid sound
  southern spacious sparkling sparkly special speedy spiffy spiral spirited splendid sporty spotless springy
  spry stable stalwart starlit starry stately steadfast steady stellar sterling still stony striped strong
  studious sturdy suave sublime subtle summery sunlit sunny super superb sure sweet swift swirling tactful
  tactile tall tangy tasteful thankful thrifty thriving tidal tidy timeless timely tiny tireless tolerant
  tranquil trim tropical true trusted trusting trusty truthful tufted tuneful twinkling undaunted unique
  united upbeat upright urbane useful valiant valued vast velvety verdant vernal versatile vibrant vigilant
  vigorous vintage visionary vital vivid vocal wakeful wandering warm watchful wavy welcome western whimsical
  whirling whistling whole wholesome wide willing willowy windswept windy winged winning winsome wintry wise
  wistful witty wondrous worldly worthy woven youthful zany zealous zestful zesty zippy
`);
