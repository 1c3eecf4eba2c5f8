/** The operator page's InstantDB client: `@instantdb/react` on the project's schema. */
import type { InstantReactWebDatabase } from '@instantdb/react';
import type schema from '../../../instant.schema.js';

export type OperatorDb = InstantReactWebDatabase<typeof schema>;
