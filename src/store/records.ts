/**
 * Reading `databases` entities into DatabaseRecords, and the queries that find
 * work. Parsing is lenient on purpose: a record edited by hand into a bad state
 * must still be readable, so the reconciler can repair it.
 */
import { z } from 'zod';
import type { DatabaseRecord } from '../core/types.js';

const timestamp = z
  .union([z.number(), z.string()])
  .transform((value) => (typeof value === 'number' ? value : Date.parse(value)))
  .pipe(z.number().finite())
  .catch(0);
const optionalString = z
  .string()
  .nullish()
  .catch(null)
  .transform((value) => value ?? null);
const optionalNumber = z
  .number()
  .finite()
  .nullish()
  .catch(null)
  .transform((value) => value ?? null);

const databaseEntity = z.object({
  id: z.string(),
  taskId: z.string(),
  name: z.string(),
  status: z.unknown().transform((value) => (typeof value === 'string' ? value : String(value))),
  instantAppId: optionalString,
  attempts: optionalNumber.transform((value) => value ?? 0),
  error: optionalString,
  createdAt: timestamp.optional().transform((value) => value ?? 0),
  leaseOwner: optionalString,
  leaseExpiresAt: optionalNumber,
  generation: optionalNumber.transform((value) => value ?? 0),
});

/** A `databases` entity as the main app returns it, or null if it lacks what every record has. */
export function parseRecord(entity: unknown): DatabaseRecord | null {
  const parsed = databaseEntity.safeParse(entity);
  return parsed.success ? parsed.data : null;
}

/** Tasks without a database, oldest first. */
export function unlinkedTasksQuery(limit: number, order: 'asc' | 'desc' = 'asc') {
  return {
    tasks: {
      $: { where: { 'mainDatabase.id': { $isNull: true } }, limit, order: { serverCreatedAt: order } },
    },
  } as const;
}

/** Records still provisioning, oldest first. */
export function unfinishedRecordsQuery(limit: number) {
  return {
    databases: {
      $: { where: { status: 'provisioning' }, limit, order: { serverCreatedAt: 'asc' } },
    },
  } as const;
}

/** Records edited into a state no watch covers: `ready` without an app, or an unknown status. */
export function brokenRecordsQuery(limit: number) {
  return {
    databases: {
      $: {
        where: {
          or: [
            { and: [{ status: 'ready' }, { instantAppId: { $isNull: true } }] },
            {
              and: [
                { status: { $not: 'provisioning' } },
                { status: { $not: 'ready' } },
                { status: { $not: 'failed' } },
              ],
            },
          ],
        },
        limit,
        order: { serverCreatedAt: 'asc' },
      },
    },
  } as const;
}
