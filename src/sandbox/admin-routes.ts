/**
 * `/admin/query`, `/admin/transact` and `/admin/subscribe-query`, in the order the real handlers
 * check things: body parameters first, then the token (protocol doc §4–§6).
 */
import type { IncomingMessage } from 'node:http';
import { authAdmin } from './auth.js';
import type { SandboxContext } from './context.js';
import {
  paramMalformed,
  paramMissing,
  SandboxHttpError,
  typedServerError,
  validationFailed,
  type Json,
} from './errors.js';
import { readJson, sendJson, type Router } from './http.js';
import { CompiledQuery } from './instaql.js';
import { authAsUser } from './impersonation.js';
import { RuleVisibility } from './rules/query-filter.js';
import { ruleGuard } from './rules/transact-check.js';
import { applyTransaction } from './transact.js';
import { normalizeUuid } from './uuid.js';

/** Registers the three admin data routes on `router`. */
export function addAdminRoutes(router: Router, ctx: SandboxContext): void {
  router.add('POST', '/admin/query', async ({ req, res, url }) => {
    const body = await readBody(req);
    const query = requireQuery(body);
    const { app, reader } = authAsUser(req, url, ctx);
    const compiled = CompiledQuery.compile(app.catalog, query, body['inference?'] === true);
    const seen = reader && new RuleVisibility(app, { ...reader, ruleParams: query['$$ruleParams'] as Json });
    const { result } = compiled.run(app.store, undefined, seen);
    ctx.counters.queries++;
    sendJson(res, result);
  });

  router.add('POST', '/admin/transact', async ({ req, res, url }) => {
    const body = await readBody(req);
    const steps = body['steps'];
    if (steps === undefined || steps === null || steps === false) throw paramMissing(['body', 'steps']);
    if (!Array.isArray(steps)) throw paramMalformed(['body', 'steps'], steps as Json);
    const { app, reader } = authAsUser(req, url, ctx);
    const delay = ctx.faults.transactDelayMs();
    if (delay > 0) {
      ctx.faults.count('transactDelayed');
      // The client went away while its write was "in transit": it never arrives (counted when it leaves).
      let abandoned = false;
      const onClose = () => {
        abandoned = true;
        ctx.faults.count('transactAbandoned');
      };
      req.socket.once('close', onClose);
      const release = ctx.hold(res);
      await ctx.delay(delay);
      release();
      req.socket.off('close', onClose);
      if (abandoned) return;
      if (req.socket.destroyed) return ctx.faults.count('transactAbandoned');
    }
    try {
      if (ctx.faults.decideTransactFail()) {
        ctx.faults.count('transactFail');
        throw typedServerError('sql-exception', 'SQL Exception: connection-failure');
      }
      const guard = reader && ruleGuard(app, reader);
      const changes = applyTransaction(app, steps, Boolean(body['throw-on-missing-attrs?']), ctx.newId, guard);
      const txId = ctx.nextTxId();
      ctx.counters.transacts++;
      sendJson(res, { 'tx-id': txId });
      ctx.live.notify(app, changes, txId);
    } catch (error) {
      ctx.counters.failedTransacts++;
      throw error;
    }
  });

  router.add('POST', '/admin/subscribe-query', async ({ req, res, url }) => {
    const body = await readBody(req);
    const query = requireQuery(body);
    const { app, reader } = authAsUser(req, url, ctx);
    ctx.counters.subscribes++;
    const seen = reader && (() => new RuleVisibility(app, { ...reader, ruleParams: query['$$ruleParams'] as Json }));
    ctx.live.open(app, res, query, body['inference?'] === true, ctx.lastTxId(), seen);
  });

  router.add('POST', '/admin/refresh_tokens', async ({ req, res, url }) => {
    const body = await readBody(req);
    const app = authAdmin(req, url, ctx.platformToken, ctx.apps);
    const rawEmail = body['email'];
    const rawId = body['id'];
    const email = typeof rawEmail === 'string' && rawEmail.includes('@') ? rawEmail.trim().toLowerCase() : undefined;
    if (rawEmail !== undefined && email === undefined) throw paramMalformed(['body', 'email'], rawEmail as Json);
    const id = rawId === undefined ? undefined : normalizeUuid(rawId);
    if (id === null) throw paramMalformed(['body', 'id'], rawId as Json);
    if (email === undefined && id === undefined) {
      throw validationFailed('body', body as Json, [{ message: 'Please provide an `email` or `id`' }]);
    }
    const signIn = app.users.signIn({ ...(email !== undefined ? { email } : {}), ...(id ? { id } : {}) });
    ctx.live.notify(app, signIn.changes, ctx.nextTxId());
    sendJson(res, {
      user: { id: signIn.user.id, app_id: app.id, email: signIn.user.email, refresh_token: signIn.token },
      created: signIn.created,
    });
  });
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readJson(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SandboxHttpError(400, {
      type: 'param-malformed',
      message: 'Malformed parameter: ["body"]',
      hint: { in: ['body'] },
    });
  }
  return body as Record<string, unknown>;
}

function requireQuery(body: Record<string, unknown>): Record<string, unknown> {
  const query = body['query'];
  if (query === undefined || query === null || query === false) throw paramMissing(['body', 'query']);
  if (typeof query !== 'object' || Array.isArray(query)) throw paramMalformed(['body', 'query'], query as Json);
  return query as Record<string, unknown>;
}
