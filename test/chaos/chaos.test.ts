/**
 * The short chaos profile, part of `npm test`. `npm run chaos` runs the long one. The seed is
 * printed before the run starts and named in every failure; `CHAOS_SEED=N` replays it.
 */
import { expect, it } from 'vitest';
import { PROFILES, runChaos } from './chaos.js';
import { formatReport } from './report.js';
import { chaosSeed } from './seed.js';

it.each(['chosen-id', 'server-id'] as const)(
  '%s: every task ends with exactly one database through kills, faults and a deploy overlap',
  async (path) => {
    const seed = chaosSeed(process.env.CHAOS_SEED, 'CHAOS_SEED');
    const replay = `replay with CHAOS_SEED=${seed}`;
    // Printed first: a run that times out or throws still says how to replay it.
    console.log(`chaos: profile ${PROFILES.ci.name}, path ${path}, seed ${seed} (${replay})`);
    const report = await runChaos(PROFILES.ci, seed, path);
    console.log(formatReport(report));

    expect(report.violations, replay).toEqual([]);
    expect(report.tasks, replay).toBe(PROFILES.ci.tasks);
    expect(report.kills, replay).toBeGreaterThanOrEqual(10);
    expect(report.windowKills, replay).toBeGreaterThan(0);
    expect(report.orphansCollected, replay).toBe(report.orphansCreated);
    // The server-id path finds lost answers by listing; the chosen-id path leaves none to find.
    if (path === 'chosen-id') expect(report, replay).toMatchObject({ listings: 0, orphansCreated: 0 });
    else expect(report.orphansCreated, replay).toBeGreaterThan(0);
  },
  180_000,
);
