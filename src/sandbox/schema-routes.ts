/**
 * The schema push routes (superadmin routes.clj app-schema-plan-post / app-schema-apply-post)
 * and the indexing-jobs group read the Platform SDK polls (dash routes.clj
 * indexing-jobs-group-get). Auth as every per-app platform route; unknown or deleted apps are
 * 400 record-not-found `app`, as the server answers.
 */
import { authPlatformApp } from './auth.js';
import type { SandboxContext } from './context.js';
import { paramMalformed, validationFailed, type Json } from './errors.js';
import { readJson, sendJson, type Exchange, type Router } from './http.js';
import { applySchemaPush, planSchemaPush } from './schema-push.js';
import { refusePushIfRateLimited } from './platform-routes.js';
import { catalogFromSchema, type AttrCatalog } from './schema.js';
import { normalizeUuid } from './uuid.js';

/** Registers the schema push and indexing-jobs routes on `router`. */
export function addSchemaRoutes(router: Router, ctx: SandboxContext): void {
  const planFor = async (exchange: Exchange) => {
    const app = authPlatformApp(exchange.req, ctx.platformToken, ctx.apps, exchange.params['id']!);
    const body = (await readJson(exchange.req)) as Record<string, unknown> | null;
    const defs = body?.['schema'] ?? null;
    let wanted: AttrCatalog;
    try {
      wanted = catalogFromSchema(defs, ctx.newId);
    } catch (error) {
      throw validationFailed('schema', defs as Json, [{ message: (error as Error).message }]);
    }
    const steps = planSchemaPush(app, wanted);
    const current = app.catalog.toApiSchema();
    // @instantdb/platform's planSchemaPush reads new-schema, current-schema and current-attrs.
    const plan = {
      'new-schema': wanted.toApiSchema(),
      'current-schema': current,
      'current-attrs': attrList(current),
      steps,
    };
    return { app, plan, wanted };
  };

  router.add('POST', '/superadmin/apps/:id/schema/push/plan', async (exchange) => {
    const { plan } = await planFor(exchange);
    refusePushIfRateLimited(ctx);
    sendJson(exchange.res, plan as unknown as Json);
  });

  router.add('POST', '/superadmin/apps/:id/schema/push/apply', async (exchange) => {
    const { app, plan, wanted } = await planFor(exchange);
    refusePushIfRateLimited(ctx);
    // The steps carry the ids of `wanted`'s attributes, so the answer and the catalogue agree.
    const result = applySchemaPush(app, plan.steps, ctx.indexingJobs, wanted);
    sendJson(exchange.res, { ...plan, ...result } as unknown as Json);
  });

  router.add('GET', '/dash/apps/:id/indexing-jobs/group/:groupId', ({ req, res, params }) => {
    const app = authPlatformApp(req, ctx.platformToken, ctx.apps, params['id']!);
    const groupId = normalizeUuid(params['groupId']);
    if (!groupId) throw paramMalformed(['params', 'group_id'], params['groupId'] ?? null);
    sendJson(res, { jobs: ctx.indexingJobs.group(app.id, groupId) });
  });
}

function attrList(schema: { refs: Record<string, Json>; blobs: Record<string, Json> }): Json[] {
  const blobs = Object.values(schema.blobs).flatMap((byLabel) => Object.values(byLabel as Record<string, Json>));
  return [...blobs, ...Object.values(schema.refs)];
}
