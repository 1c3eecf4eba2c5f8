// Permission rules for the main app. Push with `npx instant-cli push perms`, or merge
// the blocks below into your own instant.perms.ts (see the README).
//
// The browser may create tasks and watch their database's status; only
// instant-provisioner (which uses the admin token and bypasses these rules) may
// write `databases`, link a task to its database, or read an admin token.
import type { InstantRules } from '@instantdb/admin';
import type schema from './instant.schema.js';

const rules = {
  // New attributes only through a schema push, never from a browser transaction.
  attrs: { allow: { create: 'false' } },
  tasks: {
    allow: {
      // Your own task rules (view / create / update / delete) go here.
      link: { mainDatabase: 'false' },
      unlink: { mainDatabase: 'false' },
    },
  },
  databases: {
    allow: {
      // Who may see a task's database status. Mirror your `tasks.view` rule through
      // the link, e.g. "auth.id in data.ref('task.owner.id')".
      view: 'true',
      create: 'false',
      update: 'false',
      delete: 'false',
      link: { $default: 'false' },
      unlink: { $default: 'false' },
    },
    fields: {
      // The admin token of a task's database never leaves the server.
      adminToken: 'false',
    },
  },
  iterations: {
    allow: {
      link: { originatedDatabases: 'false' },
      unlink: { originatedDatabases: 'false' },
    },
  },
  // Fencing tokens are the daemon's bookkeeping; nobody else needs them.
  databaseFences: { allow: { $default: 'false' } },
} satisfies InstantRules<typeof schema>;

export default rules;
