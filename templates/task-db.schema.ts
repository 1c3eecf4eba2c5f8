// An example schema for every task database: what `--template-schema` points at.
// Each task gets its own app, so these entities hold one task's data only.
import { i } from '@instantdb/admin';

const schema = i.schema({
  entities: {
    notes: i.entity({
      text: i.string(),
      authorId: i.string().indexed(),
      createdAt: i.date().indexed(),
    }),
    attachments: i.entity({
      url: i.string(),
      createdAt: i.date().indexed(),
    }),
  },
  links: {
    noteAttachments: {
      forward: { on: 'notes', has: 'many', label: 'attachments' },
      reverse: { on: 'attachments', has: 'one', label: 'note' },
    },
  },
  rooms: {},
});

export default schema;
