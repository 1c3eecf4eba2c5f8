/** The short chaos profile, part of `npm test`. `npm run chaos` runs the long one. */
import { expect, it } from 'vitest';
import { PROFILES, runChaos } from './chaos.js';
import { formatReport } from './report.js';

it.each(['chosen-id', 'server-id'] as const)(
  '%s: every task ends with exactly one database through kills, faults and a deploy overlap',
  async (path) => {
    const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const report = await runChaos(PROFILES.ci, seed, path);
    console.log(formatReport(report));

    expect(report.violations, `replay with CHAOS_SEED=${seed}`).toEqual([]);
    expect(report.tasks).toBe(PROFILES.ci.tasks);
    expect(report.kills).toBeGreaterThanOrEqual(10);
    expect(report.windowKills).toBeGreaterThan(0);
    expect(report.orphansCollected).toBe(report.orphansCreated);
    // The server-id path finds lost answers by listing; the chosen-id path leaves none to find.
    if (path === 'chosen-id') expect(report).toMatchObject({ listings: 0, orphansCreated: 0 });
    else expect(report.orphansCreated).toBeGreaterThan(0);
  },
  180_000,
);
