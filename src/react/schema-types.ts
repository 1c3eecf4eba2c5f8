/**
 * What the React kit needs of a schema, as types: `tasks` linked to their record through
 * `mainDatabase`, the record's status fields, and the one task field a browser writes for it
 * (`databaseRetryRequestedAt`). The shipped instant.schema.ts has all of it; so does a user's own
 * schema that merged our entities and links, whatever else it holds.
 */
import type { DataAttrDef, EntitiesDef, EntityDef, InstantSchemaDef, LinkAttrDef } from '@instantdb/react';

type Attr<Value> = DataAttrDef<Value, any, any, any>;

/** The entities (and the attributes of them) the kit reads and writes. */
export interface ProvisionerEntities {
  tasks: EntityDef<{ databaseRetryRequestedAt: Attr<Date> }, { mainDatabase: LinkAttrDef<'one', 'databases'> }, any>;
  databases: EntityDef<
    {
      status: Attr<string>;
      name: Attr<string>;
      instantAppId: Attr<string>;
      error: Attr<string>;
      apiUri: Attr<string>;
      copiedEntities: Attr<number>;
      totalEntities: Attr<number>;
    },
    any,
    any
  >;
}

/** Any schema that contains the kit's entities: the shipped one, or yours with them merged in. */
export type ProvisionerSchemaDef = InstantSchemaDef<ProvisionerEntities & EntitiesDef, any, any>;
