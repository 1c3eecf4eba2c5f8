/**
 * The kit's types (checked by `tsc`; the runtime assertions only keep vitest honest): a client of the
 * shipped schema fits, so does a client of a user's own schema that merged our entities and links,
 * with or without date objects; a schema without them does not.
 */
import { i, init } from '@instantdb/react';
import { describe, expect, expectTypeOf, it } from 'vitest';
import schema from '../../instant.schema.js';
import {
  DatabaseStatus,
  requestDatabaseRetry,
  useTaskDatabase,
  type ProvisionerSchemaDef,
  type TaskDatabase,
} from '../../src/react/index.js';

/** A user's app: their own entities, with instant-provisioner's merged in. */
const userSchema = i.schema({
  entities: {
    projects: i.entity({ name: i.string() }),
    tasks: i.entity({ priority: i.number(), databaseRetryRequestedAt: i.date().optional() }),
    databases: i.entity({
      taskId: i.string().unique().indexed(),
      name: i.string().unique().indexed(),
      status: i.string().indexed(),
      instantAppId: i.string().unique().indexed().optional(),
      error: i.string().optional(),
      apiUri: i.string().optional(),
      copiedEntities: i.number().optional(),
      totalEntities: i.number().optional(),
    }),
  },
  links: {
    projectTasks: {
      forward: { on: 'projects', has: 'many', label: 'tasks' },
      reverse: { on: 'tasks', has: 'one', label: 'project' },
    },
    taskMainDatabase: {
      forward: { on: 'tasks', has: 'one', label: 'mainDatabase' },
      reverse: { on: 'databases', has: 'one', label: 'task' },
    },
  },
  rooms: {},
});

/** Lacks the mainDatabase link. */
const unlinked = i.schema({
  entities: {
    tasks: i.entity({ databaseRetryRequestedAt: i.date().optional() }),
    databases: userSchema.entities.databases,
  },
  links: {},
  rooms: {},
});

/** Lacks databases. */
const bare = i.schema({ entities: { tasks: i.entity({ title: i.string() }) }, links: {}, rooms: {} });

describe('types', () => {
  it('fit the shipped schema and a user schema with our entities, not one without them', () => {
    expectTypeOf<typeof schema>().toExtend<ProvisionerSchemaDef>();
    expectTypeOf<typeof userSchema>().toExtend<ProvisionerSchemaDef>();
    expectTypeOf<typeof unlinked>().not.toExtend<ProvisionerSchemaDef>();
    expectTypeOf<typeof bare>().not.toExtend<ProvisionerSchemaDef>();

    // Type positions only: nothing here connects anywhere.
    type Shipped = ReturnType<typeof init<typeof schema>>;
    type Users = ReturnType<typeof init<typeof userSchema, true>>;
    expectTypeOf(useTaskDatabase<typeof schema>).toBeCallableWith({} as Shipped, 'task-id');
    expectTypeOf(useTaskDatabase<typeof userSchema>).toBeCallableWith({} as Users, null);
    expectTypeOf(useTaskDatabase<typeof schema>).returns.toEqualTypeOf<TaskDatabase>();
    expectTypeOf(requestDatabaseRetry<typeof userSchema>).toBeCallableWith({} as Users, 'task-id');
    expectTypeOf(DatabaseStatus<typeof userSchema>).toBeCallableWith({ db: {} as Users, taskId: 'task-id' });
    type Bare = ReturnType<typeof init<typeof bare>>;
    // Never called: only compiled.
    const refused = () =>
      // @ts-expect-error a client of a schema without the kit's entities is refused
      useTaskDatabase({} as Bare, 'task-id');
    expect(typeof refused).toBe('function');
  });
});
