/** The short chaos profile, part of `npm test`. `npm run chaos` runs the long one. */
import { expect, it } from 'vitest';
import { PROFILES, runChaos } from './chaos.js';
import { formatReport } from './report.js';

it('every task ends with exactly one database through kills, faults and a deploy overlap', async () => {
  const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const report = await runChaos(PROFILES.ci, seed);
  console.log(formatReport(report));

  expect(report.violations, `replay with CHAOS_SEED=${seed}`).toEqual([]);
  expect(report.tasks).toBe(PROFILES.ci.tasks);
  expect(report.kills).toBeGreaterThanOrEqual(10);
  expect(report.windowKills).toBeGreaterThan(0);
  expect(report.orphansCollected).toBe(report.orphansCreated);
}, 180_000);
