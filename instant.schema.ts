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
    }),
    iterations: i.entity({
      createdAt: i.date().indexed().optional(),
    }),
    // One record per task, written only by instant-provisioner.
    databases: i.entity({
      // The claim key: the database itself guarantees at most one record per task.
      taskId: i.string().unique().indexed(),
      // Three-word name, also the title of the InstantDB app; how orphans are found.
      name: i.string().unique().indexed(),
      // 'provisioning' | 'ready' | 'failed' | 'detached' (task deleted; the app goes after
      // the grace) | 'retained' (task deleted; the app is kept). See the README.
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
  },
  rooms: {},
});

type AppSchema = typeof _schema;
// Re-declared as an interface so editor tooltips stay readable (InstantDB's convention).
interface Schema extends AppSchema {}
const schema: Schema = _schema;

export type { Schema };
export default schema;
