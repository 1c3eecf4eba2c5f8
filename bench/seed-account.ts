/**
 * An account that has been provisioning for a while: `count` platform apps made two days ago
 * (older than the orphan sweep's first lookback), each with its `ready` record and its task
 * linked to it in the main app, exactly as the daemon leaves them (the claim, then the fenced
 * ready write: generation 2 and its fence, one attempt, the locked template's hash, the admin
 * token as it is, since the benchmark runs without a token key).
 *
 * The apps come from the sandbox's seed route (about a second for 100,000); the main app's side
 * is written through the Admin SDK, ~500 entities per transaction, as an import would.
 */
import { id } from '@instantdb/admin';
import { ADJECTIVES, COLOURS, NATURE_NOUNS } from '../src/names/generate-name.js';
import { lockedTemplate } from '../src/template/app-template.js';
import type { CreatePath } from '../src/core/types.js';
import type { SandboxProcess } from './processes.js';
import type { BenchDb } from './workload.js';

/** How old the seeded account's apps and records are. */
export const SEEDED_AGE_MS = 2 * 24 * 3_600_000;
/** Tasks per transaction: a task, its record and its fence each, ~500 entities. */
const TASKS_PER_TRANSACT = 166;
/** Titles per seed request. */
const APPS_PER_REQUEST = 20_000;
/** The lease owner the seeded records' fences name: a daemon long gone. */
const OWNER = 'seeded-host/1/00000000';

/**
 * The `index`-th of the daemon's names (adjective-colour-noun, from the same lists), all
 * different for index < NAME_COMBINATIONS. The daemon draws its names at random, so one of
 * its new names collides with a seeded one with probability count / NAME_COMBINATIONS (0.5%
 * at 100,000), and it draws again, as it would in a real account.
 */
export function seededName(index: number): string {
  const adjective = ADJECTIVES[index % ADJECTIVES.length]!;
  const rest = Math.floor(index / ADJECTIVES.length);
  const colour = COLOURS[rest % COLOURS.length]!;
  const noun = NATURE_NOUNS[Math.floor(rest / COLOURS.length) % NATURE_NOUNS.length]!;
  return `${adjective}-${colour}-${noun}`;
}

/** Seeds `count` provisioned tasks, made the way `createdVia` says; resolves with how long it took (ms). */
export async function seedAccount(
  sandbox: SandboxProcess,
  db: BenchDb,
  count: number,
  createdVia: CreatePath,
): Promise<number> {
  const started = performance.now();
  const createdAt = Date.now() - SEEDED_AGE_MS;
  const templateHash = lockedTemplate().hash;
  for (let start = 0; start < count; start += APPS_PER_REQUEST) {
    const titles = Array.from({ length: Math.min(APPS_PER_REQUEST, count - start) }, (_, i) => seededName(start + i));
    const apps = await sandbox.seedApps(titles, createdAt);
    // Two transactions in flight: the sandbox applies them one at a time, the driver builds the next.
    const batches: Promise<unknown>[] = [];
    for (let at = 0; at < apps.length; at += TASKS_PER_TRANSACT) {
      const steps = apps.slice(at, at + TASKS_PER_TRANSACT).flatMap((app, i) => {
        const taskId = id();
        const recordId = id();
        const taskCreatedAt = createdAt + start + at + i;
        return [
          db.tx.tasks[taskId]!.update({ title: 'bench', createdAt: taskCreatedAt }),
          db.tx.databases[recordId]!.create({
            taskId,
            name: app.title,
            status: 'ready',
            instantAppId: app.id,
            adminToken: app.adminToken,
            error: null as unknown as string,
            attempts: 1,
            createdAt: taskCreatedAt + 5,
            readyAt: taskCreatedAt + 60,
            leaseOwner: null as unknown as string,
            leaseExpiresAt: null as unknown as number,
            generation: 2,
            templateHash,
            createdVia,
          }),
          db.tx.databaseFences[id()]!.create({ key: `${recordId}/2`, owner: OWNER, createdAt: taskCreatedAt + 60 }),
          db.tx.tasks[taskId]!.link({ mainDatabase: recordId }),
        ];
      });
      batches.push(db.transact(steps));
      if (batches.length >= 2) await batches.shift();
    }
    await Promise.all(batches);
  }
  return performance.now() - started;
}
