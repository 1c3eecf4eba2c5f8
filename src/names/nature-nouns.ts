import { wordList } from './word-list.js';

/**
 * The last word of a database name: things in nature, grouped by kind (each group alphabetical).
 * Left out on purpose: birds and plants with rude names ("tit", "booby", "shag", "cock", "bush"),
 * animals used as insults ("louse", "rat", "pig", "frog"), disasters ("flood", "cyclone"), words with
 * a common drug, sexual or political second meaning ("crystal", "ice", "root", "snowflake", "shower"),
 * brand-first words ("amazon", "apple", "dell", "jaguar", "puma"), and a few whose start
 * completes a rude word begun by a colour once the hyphens are dropped ("waterfall", "zinnia").
 */
export const NATURE_NOUNS: readonly string[] = wordList(`
  bay bayou beach brook cascade cove creek current delta estuary falls fjord fountain geyser inlet lagoon lake
  loch marsh mere pond pool rapids reef rill river shoal shore spray spring stream surf swamp tarn tide
  wave

  atoll basin bluff canopy canyon cape cavern cliff crest desert dune fen field floe forest glacier glade
  gorge grotto grove headland heath hill hillside hollow iceberg island isle islet knoll ledge meadow mesa
  mountain oasis orchard pasture peak peninsula plateau prairie range ravine ridge slope steppe summit thicket
  tundra vale valley woodland

  agate amethyst basalt boulder flint geode granite gravel jasper marble obsidian onyx opal pebble quartz rock
  sandstone shale stone

  acacia alder ash aspen banyan baobab beech birch cedar cypress elder elm fig fir hawthorn hickory holly
  juniper larch laurel linden magnolia maple mimosa myrtle oak palm pear pine poplar quince redwood rowan
  sequoia spruce sycamore tamarind willow yew

  acorn aster azalea bamboo basil bloom blossom bluebell bough bracken branch cactus camellia clover cosmos
  crocus dahlia daisy fern foxglove iris ivy jasmine leaf lichen lily lotus lupine marigold moss orchid peony
  petal pinecone poppy primrose reed sapling sedge seedling sorrel sprout thistle thyme tulip yarrow

  albatross avocet bittern bluebird bunting condor crane curlew dove dunlin eagle egret falcon finch flamingo
  goldfinch grebe gull harrier hawk heron ibis jay kestrel kingfisher kite lark linnet macaw magpie meadowlark
  merlin nightjar oriole osprey owl parrot partridge pelican penguin peregrine petrel pheasant pipit plover
  puffin quail raven robin rook sandpiper siskin skylark sparrow starling stork swan tanager tern toucan
  warbler wren

  alpaca badger beetle bison butterfly chipmunk cricket deer dolphin dragonfly elk ermine firefly fox gazelle
  gecko giraffe hare hedgehog ibex koala koi lemur lion llama lynx marten moose moth newt orca otter panda
  seal squirrel tiger tortoise trout turtle vole whale wombat zebra

  aurora breeze cirrus cloud comet cumulus dawn daybreak dew drizzle dusk eclipse ember equinox flame flurry
  fog frost gale gleam glow gust haze horizon meteor mist monsoon moon moonbeam nebula noon planet rain
  rainbow sky sleet snow snowfall solstice spark squall star starlight stratus sun sunbeam sunrise sunset
  tempest thunder twilight wind zenith zephyr
`);
