/**
 * The copy engine's phase (issue 19's targets): a sandbox in its own process holds a source app
 * of three namespaces with links (a tenth posts, a tenth tags, eight tenths comments; every
 * comment links its post, every post three tags), seeded at once; the copy runs in a process of
 * its own (bench/copy-worker.ts), as a fork or a restore would, reading and writing over HTTP.
 *
 * - throughput: N entities app → a fresh app, verified (the copy read back and compared);
 * - memory: a big app (1,000,000 entities) backed up by the built CLI (`backup --task`, app →
 *   archive), and that process's peak RSS.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { i } from '@instantdb/admin';
import type { CopyJob, CopyJobResult } from './copy-worker.js';
import { cliPath, repoRoot, type SandboxProcess } from './processes.js';
import { ProcSampler } from './proc-stats.js';
import { startSandbox } from './setup.js';
import { round2 } from './stats.js';

export interface CopySettings {
  /** Entities of the throughput app (app → app). */
  entities: number;
  /** Entities of the memory app (app → archive); null: skip. */
  bigEntities: number | null;
  workDir: string;
}

export interface CopyRun extends Omit<CopyJobResult, 'copyMs'> {
  target: 'app' | 'archive';
  /** Start → the last page written; null for `backup`, which does not say (its total is the CLI's whole run). */
  copyMs: number | null;
  /** Entities per second, start → verified. */
  entitiesPerSecond: number;
  /** Entities per second, start → last page written (no read-back); null when not known. */
  copyEntitiesPerSecond: number | null;
  seedSeconds: number;
  /** The sandbox's CPU over the copy, as a share of one core. */
  sandboxCpuShare: number;
}

export interface CopyBenchResult {
  throughput: CopyRun;
  memory: CopyRun | null;
}

const schema = i.schema({
  entities: {
    posts: i.entity({ title: i.string(), slug: i.string().unique().indexed(), views: i.number().indexed() }),
    comments: i.entity({ body: i.string(), createdAt: i.date().indexed() }),
    tags: i.entity({ label: i.string().unique().indexed() }),
  },
  links: {
    commentPost: {
      forward: { on: 'comments', has: 'one', label: 'post' },
      reverse: { on: 'posts', has: 'many', label: 'comments' },
    },
    postTags: {
      forward: { on: 'posts', has: 'many', label: 'tags' },
      reverse: { on: 'tags', has: 'many', label: 'posts' },
    },
  },
  rooms: {},
});

export async function measureCopy(settings: CopySettings, progress: (line: string) => void): Promise<CopyBenchResult> {
  const throughput = await appToApp(settings.entities, progress);
  const memory = settings.bigEntities ? await backupOf(settings.bigEntities, settings.workDir, progress) : null;
  return { throughput, memory };
}

/** A source app of `entities` in the sandbox, seeded; resolves with the seconds it took. */
async function seededSource(sandbox: SandboxProcess, entities: number, progress: (line: string) => void) {
  const started = performance.now();
  const source = await createApp(sandbox, 'copy-source', schema);
  const tenth = Math.round(entities / 10);
  await control(sandbox, `apps/${source.appId}/seed-entities`, {
    entities: { posts: tenth, tags: tenth, comments: entities - 2 * tenth },
    links: { 'comments.post': 1, 'posts.tags': 3 },
  });
  const seedSeconds = round2((performance.now() - started) / 1000);
  progress(`  seeded ${entities.toLocaleString('en-US')} entities in ${seedSeconds} s`);
  return { source, seedSeconds };
}

/** Throughput: app → a fresh app, in a copy worker (the fork and migrate path). */
async function appToApp(entities: number, progress: (line: string) => void): Promise<CopyRun> {
  const sandbox = await startSandbox(0);
  try {
    const { source, seedSeconds } = await seededSource(sandbox, entities, progress);
    const target = await createApp(sandbox, 'copy-target', null);
    const sandboxCpu = new ProcSampler(sandbox.pid, 1000);
    const before = sandboxCpu.sample();
    const result = await runWorker({ apiUri: sandbox.env.INSTANT_API_URI, source, target: { kind: 'app', ...target } });
    const after = sandboxCpu.stop();
    return run(result, 'app', seedSeconds, (after.cpuMs - before.cpuMs) / result.totalMs);
  } finally {
    await sandbox.stop();
  }
}

/**
 * Memory: the built CLI's `backup` of one task whose database is the big app, as an operator
 * runs it (no node flags); its peak RSS is the kernel's (VmHWM), its times from the CLI's start.
 */
async function backupOf(entities: number, workDir: string, progress: (line: string) => void): Promise<CopyRun> {
  const sandbox = await startSandbox(0);
  const out = mkdtempSync(join(workDir, 'copy-backup-'));
  try {
    const { source, seedSeconds } = await seededSource(sandbox, entities, progress);
    const taskId = await recordReadyDatabase(sandbox, source);
    const sandboxCpu = new ProcSampler(sandbox.pid, 1000);
    const before = sandboxCpu.sample();
    const started = performance.now();
    const child = spawn(process.execPath, [cliPath(), 'backup', '--task', taskId, '--out', out], {
      env: { PATH: process.env.PATH ?? '', ...sandbox.env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const sampler = new ProcSampler(child.pid!, 100);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const peakRssBytes = await new Promise<number>((resolve, reject) => {
      let peak = 0;
      const timer = setInterval(() => (peak = Math.max(peak, sampler.sample().peakRssBytes)), 100);
      child.once('exit', (code) => {
        clearInterval(timer);
        sampler.stop();
        if (code !== 0) reject(new Error(`backup exited with ${code}: ${output}`));
        else resolve(peak);
      });
    });
    const totalMs = Math.round(performance.now() - started);
    const after = sandboxCpu.stop();
    const manifest = JSON.parse(readFileSync(join(out, taskId, 'manifest.json'), 'utf8')) as {
      entityCount: number;
      sizeBytes: number;
    };
    const result = {
      entities: manifest.entityCount,
      copyMs: null,
      totalMs,
      peakRssMb: Math.round((peakRssBytes / 1024 / 1024) * 10) / 10,
      sizeBytes: manifest.sizeBytes,
      verified: true,
    };
    return run(result, 'archive', seedSeconds, (after.cpuMs - before.cpuMs) / totalMs);
  } finally {
    rmSync(out, { recursive: true, force: true });
    await sandbox.stop();
  }
}

function run(
  result: CopyJobResult | (Omit<CopyJobResult, 'copyMs'> & { copyMs: null }),
  target: 'app' | 'archive',
  seedSeconds: number,
  sandboxShare: number,
): CopyRun {
  return {
    ...result,
    target,
    entitiesPerSecond: Math.round(result.entities / (result.totalMs / 1000)),
    copyEntitiesPerSecond: result.copyMs === null ? null : Math.round(result.entities / (result.copyMs / 1000)),
    seedSeconds,
    sandboxCpuShare: round2(sandboxShare),
  };
}

/** A task in the main app whose ready database is `app` (what the daemon would have written). */
async function recordReadyDatabase(sandbox: SandboxProcess, app: { appId: string; adminToken: string }) {
  const taskId = randomUUID();
  const recordId = randomUUID();
  const now = Date.now();
  const steps = [
    ['update', 'tasks', taskId, { title: 'copy benchmark', createdAt: now }],
    [
      'update',
      'databases',
      recordId,
      {
        taskId,
        name: 'copy-benchmark-app',
        status: 'ready',
        instantAppId: app.appId,
        adminToken: app.adminToken,
        attempts: 1,
        createdAt: now,
        readyAt: now,
        generation: 1,
      },
    ],
    ['link', 'tasks', taskId, { mainDatabase: recordId }],
  ];
  const { INSTANT_API_URI, INSTANT_APP_ID, INSTANT_ADMIN_TOKEN } = sandbox.env;
  const response = await fetch(`${INSTANT_API_URI}/admin/transact`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'app-id': INSTANT_APP_ID,
      authorization: `Bearer ${INSTANT_ADMIN_TOKEN}`,
    },
    body: JSON.stringify({ steps }),
  });
  if (!response.ok) throw new Error(`recording the benchmark's database: HTTP ${response.status}`);
  return taskId;
}

function runWorker(job: CopyJob): Promise<CopyJobResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot(), 'dist', 'bench', 'copy-worker.js'), JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`copy worker exited with ${code}: ${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as CopyJobResult);
    });
  });
}

async function createApp(sandbox: SandboxProcess, title: string, appSchema: unknown) {
  const response = await fetch(`${sandbox.env.INSTANT_API_URI}/superadmin/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sandbox.env.INSTANT_PLATFORM_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title, ...(appSchema ? { schema: appSchema } : {}) }),
  });
  if (!response.ok) throw new Error(`create ${title}: HTTP ${response.status} ${await response.text()}`);
  const { app } = (await response.json()) as { app: { id: string; 'admin-token': string } };
  return { appId: app.id, adminToken: app['admin-token'] };
}

async function control(sandbox: SandboxProcess, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${sandbox.env.INSTANT_API_URI}/__sandbox/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sandbox.env.INSTANT_PLATFORM_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`sandbox ${path}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}
