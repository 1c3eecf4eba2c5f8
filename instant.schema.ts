// The main app's schema: what the operator app and instant-provisioner share.
// Push it with `npx instant-cli push schema`, or merge these entities and links
// into your own instant.schema.ts (see the README).
import { i } from '@instantdb/admin';

const _schema = i.schema({
  entities: {
    // InstantDB's built-in users; declared so tasks can link to their owner.
    $users: i.entity({
      email: i.string().unique().indexed().optional(),
    }),
    // Tasks are created by the browser; the daemon only needs to know they exist.
    tasks: i.entity({
      title: i.string().optional(),
      createdAt: i.date().indexed(),
      // The owner asks for another try at a failed database (the only field of a task the
      // daemon reads besides its links); honoured at most once a minute per task.
      databaseRetryRequestedAt: i.date().optional(),
    }),
    // A step of a task's work. Forking one (a new task linked to it through `forkedFrom`)
    // gives the new task a copy of the iteration's task's database.
    iterations: i.entity({
      createdAt: i.date().indexed().optional(),
    }),
    // One record per task, written only by instant-provisioner.
    databases: i.entity({
      // The claim key: the database itself guarantees at most one record per task.
      taskId: i.string().unique().indexed(),
      // Three-word name, also the title of the InstantDB app; how orphans are found.
      name: i.string().unique().indexed(),
      // 'provisioning' | 'copying' (a fork's data is being copied in) | 'ready' | 'failed' |
      // 'refused' (its owner has too many databases) | 'detached' (task deleted; the app goes
      // after the grace) | 'retained' (task deleted; the app is kept). See the README.
      status: i.string().indexed(),
      instantAppId: i.string().unique().indexed().optional(),
      adminToken: i.string().optional(),
      error: i.string().optional(),
      attempts: i.number().optional(),
      createdAt: i.date().indexed(),
      readyAt: i.date().optional(),
      // Lease: who works on the record and until when. `generation` counts the
      // fenced writes made to it; see databaseFences.
      leaseOwner: i.string().optional(),
      leaseExpiresAt: i.number().indexed().optional(),
      generation: i.number().optional(),
      // When the task was found deleted; the detached window is read in this order.
      detachedAt: i.number().indexed().optional(),
      // Which template (schema + permission rules) the app has.
      templateHash: i.string().optional(),
      // The task's owner when it was claimed: a re-created task gets the database back only
      // if it has the same owner, and --max-databases-per-owner counts by it.
      ownerId: i.string().indexed().optional(),
      // 'chosen-id': the record named its app (instantAppId, adminToken) from the claim on,
      // before the app existed; 'server-id' (or absent): the server chose them.
      createdVia: i.string().optional(),
      // When the first create was sent (epoch ms): transient failures retry until
      // --give-up-after has passed since then.
      firstAttemptAt: i.number().optional(),
      // The Instant server the app lives on (its API URI); absent on older records, which
      // live on the daemon's own server. `migrate` moves it.
      apiUri: i.string().optional(),
      // A restore in progress (`restore`): the new app's id and admin token (sealed like
      // adminToken), written before the app exists and cleared by the write that moves the
      // record to it. While set, the record names two apps: instantAppId (live) and this one.
      pendingAppId: i.string().optional(),
      pendingAdminToken: i.string().optional(),
      // Progress of a copy (a fork, a restore): entities copied so far, of how many.
      copiedEntities: i.number().optional(),
      totalEntities: i.number().optional(),
      // The last backup, and the usage figures it measured.
      lastBackupAt: i.date().optional(),
      entityCount: i.number().optional(),
      sizeBytes: i.number().optional(),
      // When the daemon last honoured its task's databaseRetryRequestedAt (epoch ms).
      retryHonouredAt: i.number().optional(),
    }),
    // Fencing tokens. Every write that moves a record from generation g to g + 1
    // also creates the fence `<recordId>/<g + 1>`; the key is unique, so of two
    // writers that both read generation g exactly one wins (InstantDB has no
    // compare-and-set, but it does enforce unique attributes).
    databaseFences: i.entity({
      key: i.string().unique().indexed(),
      owner: i.string(),
      createdAt: i.date(),
    }),
  },
  links: {
    // Who created a task; the rules in instant.perms.ts scope every read and write by it.
    taskOwner: {
      forward: { on: 'tasks', has: 'one', label: 'owner' },
      reverse: { on: '$users', has: 'many', label: 'tasks' },
    },
    taskMainDatabase: {
      forward: { on: 'tasks', has: 'one', label: 'mainDatabase' },
      reverse: { on: 'databases', has: 'one', label: 'task' },
    },
    databaseOriginIteration: {
      forward: { on: 'databases', has: 'one', label: 'originIteration' },
      reverse: { on: 'iterations', has: 'many', label: 'originatedDatabases' },
    },
    // A task's iterations.
    taskIterations: {
      forward: { on: 'tasks', has: 'many', label: 'iterations' },
      reverse: { on: 'iterations', has: 'one', label: 'task' },
    },
    // A task forked from an iteration of another task: its database starts as a copy.
    taskForkedFrom: {
      forward: { on: 'tasks', has: 'one', label: 'forkedFrom' },
      reverse: { on: 'iterations', has: 'many', label: 'forks' },
    },
  },
  rooms: {},
});

type AppSchema = typeof _schema;
// Re-declared as an interface so editor tooltips stay readable (InstantDB's convention).
interface Schema extends AppSchema {}
const schema: Schema = _schema;

export type { Schema };
export default schema;
