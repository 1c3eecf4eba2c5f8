'use client';
/**
 * `instant-provisioner/react`: a task's database, live, in a React app on `@instantdb/react`.
 * `useTaskDatabase(db, taskId)` reads it; `<DatabaseStatus db={db} taskId={…} />` shows it. Both
 * take the app's own `db`, so they follow its sign-in and the main app's rules. Optional styles:
 * `import 'instant-provisioner/react/styles.css'`.
 */
export { DatabaseStatus, type DatabaseStatusProps } from './database-status.js';
export { requestDatabaseRetry, type TaskDatabaseWriter } from './request-retry.js';
export type { ProvisionerEntities, ProvisionerSchemaDef } from './schema-types.js';
export {
  taskDatabaseQuery,
  useTaskDatabase,
  type CopyProgress,
  type TaskDatabase,
  type TaskDatabaseReader,
  type TaskDatabaseStatus,
} from './use-task-database.js';
