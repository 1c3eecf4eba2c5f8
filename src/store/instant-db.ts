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

/** A query as the SDK's `query` and `subscribeQuery` take it. */
export type MainQuery = Parameters<MainDb['query']>[0];

/**
 * A query the SDK's types cannot express (`or` across link paths, `$not` inside
 * `and`) but the server and the SDK's runtime check accept.
 */
export function untyped(query: object): MainQuery {
  return query as MainQuery;
}
