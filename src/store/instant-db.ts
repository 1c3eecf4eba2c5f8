/** The main app's Admin SDK client, typed by instant.schema.ts. */
import { init, type InstantAdminDatabase } from '@instantdb/admin';
import schema, { type Schema } from '../../instant.schema.js';

export type MainDb = InstantAdminDatabase<Schema>;

export interface MainDbOptions {
  appId: string;
  adminToken: string;
  apiUri: string;
}

export function connectMainDb(options: MainDbOptions): MainDb {
  return init({ appId: options.appId, adminToken: options.adminToken, apiURI: options.apiUri, schema });
}
