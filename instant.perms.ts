// Permission rules for the main app. Push with `npx instant-cli push perms`, or merge
// the blocks below into your own instant.perms.ts (see the README).
//
// A browser sees and deletes only its own tasks (linked to it through `owner`) and
// reads only the status, name and app id of their databases. Only instant-provisioner
// (which uses the admin token and bypasses these rules) writes `databases`, links a
// task to its database, reads an admin token or touches the fences.
import type { InstantRules } from '@instantdb/admin';
import type schema from './instant.schema.js';

const rules = {
  // Anything not named below is closed: a new namespace starts locked.
  $default: { allow: { $default: 'false' } },
  // New attributes only through a schema push, never from a browser transaction.
  attrs: { allow: { create: 'false' } },
  tasks: {
    bind: ['isOwner', "auth.id != null && auth.id in data.ref('owner.id')"],
    allow: {
      view: 'isOwner',
      // Checked after the write, so the owner link made in the same transaction counts.
      create: 'isOwner',
      update: 'isOwner',
      delete: 'isOwner',
      link: {
        // Only to oneself, and only on one's own task (checked after the write for a new task).
        owner: 'isOwner && linkedData.id == auth.id',
        // A fork names an iteration of one's own task, never someone else's.
        forkedFrom: "isOwner && auth.id in linkedData.ref('task.owner.id')",
        iterations: 'isOwner',
        $default: 'false',
      },
      unlink: { $default: 'false' },
    },
  },
  databases: {
    allow: {
      // Readable by the owner of its task; written only by the daemon.
      view: "auth.id != null && auth.id in data.ref('task.owner.id')",
      create: 'false',
      update: 'false',
      delete: 'false',
      link: { $default: 'false' },
      unlink: { $default: 'false' },
    },
    fields: {
      // The admin token of a task's database never leaves the server (nor that of a restore's new app).
      adminToken: 'false',
      pendingAdminToken: 'false',
      leaseOwner: 'false',
    },
  },
  iterations: {
    // An iteration belongs to whoever owns its task.
    bind: ['ownsTask', "auth.id != null && auth.id in data.ref('task.owner.id')"],
    allow: {
      view: 'ownsTask',
      // Checked after the write, so the task link made in the same transaction counts.
      create: 'ownsTask',
      update: 'ownsTask',
      delete: 'ownsTask',
      // Both sides of a link are checked: an iteration joins, or is forked from, only by its owner.
      link: { task: 'ownsTask', forks: 'ownsTask', $default: 'false' },
      unlink: { $default: 'false' },
    },
  },
  // Fencing tokens are the daemon's bookkeeping; nobody else needs them.
  databaseFences: { allow: { $default: 'false' } },
} satisfies InstantRules<typeof schema>;

export default rules;
