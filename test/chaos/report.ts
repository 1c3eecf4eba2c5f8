/** The chaos run's table. */
import type { ChaosReport } from './chaos.js';

export function formatReport(report: ChaosReport): string {
  const faults = Object.entries(report.faults)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
  const rows: Array<[string, string]> = [
    ['profile / seed', `${report.profile} / ${report.seed}`],
    ['create path', report.path],
    ['tasks', String(report.tasks)],
    ['daemon kills (SIGKILL)', String(report.kills)],
    ['…of which between create and record', String(report.windowKills)],
    ['daemon processes started', String(report.daemonsStarted)],
    ['faults injected', faults || 'none'],
    ['orphan apps created / collected', `${report.orphansCreated} / ${report.orphansCollected}`],
    ['account listings', String(report.listings)],
    ['time to settle after faults stop', `${(report.settleMs / 1000).toFixed(1)} s`],
    ['log lines checked for tokens', String(report.logLines)],
    ['violations', report.violations.length === 0 ? 'none' : String(report.violations.length)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const table = [
    '| what | count |',
    '| --- | --- |',
    ...rows.map(([label, value]) => `| ${label.padEnd(width)} | ${value} |`),
  ];
  const problems = report.violations.slice(0, 20).map((violation) => `  - ${violation}`);
  return [
    ...table,
    ...(problems.length
      ? ['', 'Violations:', ...problems, `Replay with: npm run chaos -- --path ${report.path} --seed ${report.seed}`]
      : []),
  ].join('\n');
}
