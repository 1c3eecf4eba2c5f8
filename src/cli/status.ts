/** `instant-provisioner status [--json]`: what the main app says about every task database. */
import { Command } from 'commander';
import type { Flags } from '../config.js';
import type { DaemonState, ReportedRecord, StatusReport } from '../core/operations/status-report.js';
import { EXIT } from './exit-codes.js';
import { openProvisioner } from './open-provisioner.js';
import { addSettingFlags } from './options.js';
import { exitOnStopSignal } from './process.js';

interface StatusOptions extends Flags {
  json?: boolean;
  daemonUrl?: string;
}

export function statusCommand(): Command {
  const command = new Command('status')
    .description('Counts by status, the oldest provisioning record, failed, detached and retained records')
    .option('--json', 'print the report as JSON (stable: see the README)')
    .option(
      '--daemon-url <url>',
      "also ask a running daemon's HTTP server whether creates are paused (default: --http-port's, when set)",
    );
  addSettingFlags(command);
  return command.action(async (options: StatusOptions) => {
    process.exitCode = await exitOnStopSignal(() => status(options));
  });
}

async function status({ json, daemonUrl, ...flags }: StatusOptions): Promise<number> {
  const opened = await openProvisioner(flags, 'stderr');
  if (typeof opened === 'number') return opened;
  // A daemon configured alike serves its HTTP port here; ask it unless told where.
  const { config } = opened;
  const url = daemonUrl ?? (config.httpPort ? `http://${config.httpHost}:${config.httpPort}` : undefined);
  const daemon = url ? await askDaemon(url) : null;
  const report = await opened.provisioner.statusReport(daemon);
  process.stdout.write(json ? JSON.stringify(report, null, 2) + '\n' : formatStatus(report));
  return EXIT.ok;
}

/** The daemon's /readyz answer; null (with a warning) when it cannot be asked. */
async function askDaemon(url: string): Promise<DaemonState | null> {
  const readyz = new URL('/readyz', url).toString();
  try {
    const response = await fetch(readyz, { signal: AbortSignal.timeout(5_000) });
    const body = (await response.json()) as { reasons?: unknown; gate?: unknown; createPath?: unknown };
    const reasons = Array.isArray(body.reasons) ? body.reasons.map(String) : [];
    const createPath = typeof body.createPath === 'string' ? body.createPath : null;
    return { url, ready: response.ok, reasons, gate: body.gate ?? null, createPath };
  } catch (error) {
    process.stderr.write(`instant-provisioner: could not ask the daemon at ${readyz}: ${String(error)}\n`);
    return null;
  }
}

export function formatStatus(report: StatusReport): string {
  const lines = [`${report.total} task databases (${report.generatedAt})`];
  for (const [status, count] of Object.entries(report.counts)) lines.push(`  ${status.padEnd(13)} ${count}`);
  const oldest = report.oldestProvisioning;
  if (oldest)
    lines.push(
      `Oldest provisioning: ${describe(oldest)}, for ${Math.round(oldest.ageMs / 1000)} s (attempt ${oldest.attempts})`,
    );
  section(
    lines,
    'Failed',
    report.failed,
    report.counts['failed'],
    (r) => `${r.attempts} attempts: ${r.error ?? 'no error recorded'}`,
  );
  section(lines, 'Detached (task deleted)', report.detached, report.counts['detached'], (r) =>
    r.deletesAt ? `app deleted after ${r.deletesAt}` : 'app kept',
  );
  section(
    lines,
    'Retained (task deleted, app kept)',
    report.retained,
    report.counts['retained'],
    (r) => `app ${r.appId}`,
  );
  if (report.daemon) {
    const { url, ready, reasons, createPath } = report.daemon;
    const path = createPath ? `, creating apps with ${createPath}s` : '';
    lines.push(`Daemon at ${url}: ${ready ? 'ready' : `not ready (${reasons.join('; ')})`}${path}`);
  }
  return lines.join('\n') + '\n';
}

function section(
  lines: string[],
  title: string,
  records: ReportedRecord[],
  count: number | undefined,
  detail: (record: ReportedRecord) => string,
): void {
  if (records.length === 0) return;
  const shown = count !== undefined && count > records.length ? ` (oldest ${records.length} of ${count})` : '';
  lines.push(`${title}${shown}:`);
  for (const record of records) lines.push(`  ${describe(record)}: ${detail(record)}`);
}

function describe(record: ReportedRecord): string {
  return `task ${record.taskId} ${record.name}`;
}
