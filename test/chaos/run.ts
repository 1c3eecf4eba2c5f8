/**
 * `npm run chaos [-- --profile ci|long] [--seed N]`: the chaos run with a table at
 * the end; exits 1 on any violation (and prints the seed to replay it).
 */
import { PROFILES, runChaos } from './chaos.js';
import { formatReport } from './report.js';
import { chaosSeed } from './seed.js';

const args = process.argv.slice(2);
const option = (name: string) => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
};
const profileName = option('--profile') ?? 'long';
const profile = PROFILES[profileName as keyof typeof PROFILES];
const seed = (() => {
  try {
    return chaosSeed(option('--seed'), '--seed');
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return null;
  }
})();
if (!profile || seed === null) {
  process.stderr.write('usage: npm run chaos -- [--profile ci|long] [--seed N]\n');
  process.exit(2);
}

process.stdout.write(`chaos run: profile ${profile.name}, seed ${seed}\n`);
const report = await runChaos(profile, seed, (line) => process.stdout.write(`  ${line}\n`));
process.stdout.write(`\n${formatReport(report)}\n`);
process.exit(report.violations.length === 0 ? 0 : 1);
