// Example permission rules for every task database: what `--template-perms` points at.
// Without a perms template the daemon creates each app locked (every client denied);
// these rules open it deliberately, and only as far as written here.
import type { InstantRules } from '@instantdb/admin';
import type schema from './task-db.schema.js';

const rules = {
  // Anything not named below stays closed, and no client may invent new attributes.
  $default: { allow: { $default: 'false' } },
  attrs: { allow: { create: 'false' } },
  notes: {
    allow: {
      view: 'auth.id != null',
      create: 'auth.id != null && auth.id == newData.authorId',
      update: 'auth.id == data.authorId',
      delete: 'auth.id == data.authorId',
    },
  },
  attachments: {
    allow: {
      view: 'auth.id != null',
      create: 'auth.id != null',
      update: 'false',
      delete: 'false',
    },
  },
} satisfies InstantRules<typeof schema>;

export default rules;
