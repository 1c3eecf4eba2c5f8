/**
 * Words a database name must never contain, for the name-list tests. Not exhaustive: a net under
 * the curated lists, so that an edit adding one of these fails a test. Grouped by why.
 */
const groups = {
  /** Words the old generator (unique-names-generator's defaults) could produce. */
  fromOldGenerator: `stupid naked bloody pregnant dead louse`,
  insults: `
    idiot idiotic moron moronic dumb dim dimwit dopey dork dunce fool foolish imbecile lame loser nerd nitwit
    silly stupid crazy insane lunatic psycho mad nuts loony cuckoo loon bonkers ugly fat fatty obese chubby
    plump skinny scrawny gross nasty dirty filthy smelly stinky creepy evil wicked vile cruel mean rude lazy
    greedy sleazy trashy cheap sloppy weird freak freaky boring dull ignorant pathetic useless worthless
    coward cowardly sucker jerk twit prat git`,
  violence: `
    kill killer killing murder murderous slaughter massacre gun guns rifle pistol bomb bombing bullet shoot
    shooter stab stabbing knife dagger sword blade axe war warfare warrior battle assault attack brutal
    violent violence torture terror terrorist hostage gore gory bloodshed blood bleeding nuke explosive
    grenade weapon hang hanging lynch noose strangle choke punch slap beat fight riot rage angry hate`,
  bodily: `
    poop poo pee piss shit crap fart butt bum anus anal arse ass booger snot vomit puke barf spit sweat
    sweaty urine feces faeces turd pus pimple zit belly boob boobs breast nipple penis vagina testicle
    scrotum crotch groin armpit buttock bottom wart scab rash diarrhea gut guts`,
  sexual: `
    sex sexy sexual porn porno horny nude nudist naked erotic orgasm kinky fetish slut whore hooker harlot
    dildo cock dick pussy tit tits booby shag hump bang screw thrust moist lust lusty sultry virgin nympho
    frisky naughty bush beaver wood knob nuts balls hooters strip stripper escort sleazy bondage spank
    horn lewd raunchy steamy seductive`,
  deathAndIllness: `
    dead death deadly die dying died corpse coffin casket grave tomb funeral mortal morgue skull skeleton
    zombie ghost ghoul cancer tumor tumour plague disease diseased sick sickly ill illness ebola covid corona
    virus leper leprosy rabies rabid fever flu cholera malaria sepsis suicide poison poisonous toxic decay
    decayed rot rotten rotting carcass wound wounded injury injured cripple crippled blind deaf lame
    vulture hemlock`,
  slurAdjacent: `
    coon spook gyp gypsy oriental colored coloured negro redskin savage primitive squaw eskimo midget dwarf
    cripple spastic spaz mongoloid retard retarded queer homo dyke fag tranny jap chink spic kike wop paki
    gook yid ape monkey mulatto ghetto thug hick redneck hillbilly peasant tribal native black white brown
    yellow red-skin`,
  drugsAndVice: `
    drug drugs stoned high weed dope crack meth cocaine heroin opium junkie drunk booze vodka whiskey beer
    wine gin rum tipsy smoke smoking cigar cigarette bong joint casino gamble gambling`,
  religionAndPolitics: `
    god jesus christ allah holy sacred blessed devil demon satan hell damn damned sinful nazi fascist
    communist trump biden jihad crusade`,
  brands: `
    google amazon apple microsoft windows nike adidas puma jaguar tesla ford mustang corona oracle shell
    meta twitter facebook uber lyft oreo lego pepsi coke cola sprite fanta jeep subaru lexus visa
    paypal netflix disney dell intel samsung sony nokia toyota honda ferrari porsche lamborghini rolex
    gucci prada starbucks walmart target costco ikea instant instantdb`,
};

/** Every blocked word, lowercase, without hyphens. */
export const BLOCKED_WORDS: readonly string[] = [
  ...new Set(
    Object.values(groups)
      .flatMap((text) => text.split(/\s+/))
      .filter((word) => word !== '')
      .map((word) => word.replaceAll('-', '')),
  ),
];

/**
 * Blocked even inside a longer word: roots no innocent English word contains. Most blocked words
 * are not here because they do hide in innocent ones ("ass" in "glass", "rape" in "grape").
 */
export const BLOCKED_EVEN_INSIDE_WORDS: readonly string[] = [
  'fuck',
  'shit',
  'cunt',
  'piss',
  'porn',
  'nazi',
  'slut',
  'whore',
  'dildo',
  'wank',
  'twat',
  'jizz',
  'nigg',
  'fagg',
  'negro',
  'kike',
];
