/**
 * `npm run chaos [-- --profile ci|long] [--seed N] [--path chosen-id|server-id|both]`: the chaos
 * run on each create path (both by default) with a table at the end; exits 1 on any violation
 * (and prints the seed to replay it).
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
const pathOption = option('--path') ?? 'both';
const paths: string[] = pathOption === 'both' ? ['chosen-id', 'server-id'] : [pathOption];
if (!profile || seed === null || !paths.every((path) => path === 'chosen-id' || path === 'server-id')) {
  process.stderr.write('usage: npm run chaos -- [--profile ci|long] [--seed N] [--path chosen-id|server-id|both]\n');
  process.exit(2);
}

let failed = false;
for (const path of paths as Array<'chosen-id' | 'server-id'>) {
  process.stdout.write(`chaos run: profile ${profile.name}, path ${path}, seed ${seed}\n`);
  const report = await runChaos(profile, seed, path, (line) => process.stdout.write(`  ${line}\n`));
  process.stdout.write(`\n${formatReport(report)}\n\n`);
  failed ||= report.violations.length > 0;
}
process.exit(failed ? 1 : 0);
