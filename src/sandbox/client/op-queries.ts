/**
 * `add-query` and `remove-query` (session.clj › handle-add-query!, handle-remove-query!). A query
 * becomes a live query of the sandbox (live.ts): its result in the client's join-rows format,
 * filtered by the reader's rules unless the session is admin, with a rising `processed-tx-id`;
 * the same `q` twice is `add-query-exists`. Sessions of one user (or guests, or admins) asking the
 * same query share one evaluation per transaction.
 */
import { canonicalJson } from '../../core/canonical-json.js';
import { validationFailed, type Json } from '../errors.js';
import { RuleVisibility } from '../rules/query-filter.js';
import { evaluateJoinRows } from './join-rows.js';
import type { ClientSession, OpHandler } from './session.js';

/** Handles `add-query`. */
export const handleAddQuery: OpHandler = (session, message) => {
  const { app, user, admin } = signedIn(session);
  const q = message['q'];
  if (typeof q !== 'object' || q === null || Array.isArray(q)) {
    throw validationFailed('add-query', { q: (q ?? null) as Json }, [{ message: 'Query can not be null.' }]);
  }
  const query = q as Record<string, unknown>;
  const key = canonicalJson(query);
  const eventId = JSON.stringify(message['client-event-id'] ?? null);
  const queryJson = JSON.stringify(query);
  if (session.queries.has(key)) {
    session.send(`{"op":"add-query-exists","q":${queryJson},"client-event-id":${eventId}}`);
    return;
  }
  const { sandbox } = session.services;
  const reader = admin ? undefined : { user, ruleParams: query['$$ruleParams'] as Json };
  const subscription = sandbox.live.subscribe({
    app,
    query,
    inference: false,
    evaluate: (compiled, store, starts, seen) => evaluateJoinRows(app.catalog, compiled, store, starts, seen),
    ...(reader ? { seen: () => new RuleVisibility(app, reader) } : {}),
    shareKey: `${admin ? 'admin' : (user?.id ?? 'guest')}\u0000${key}`,
    changed: (result, txId) => session.queueComputation(queryJson, result.json, txId),
    failed: (error) => session.sendError(error, { op: 'add-query', q: query }),
  });
  session.queries.set(key, subscription);
  const txId = sandbox.lastTxId();
  session.sendAttrsIfStale(txId);
  session.send(
    `{"op":"add-query-ok","q":${queryJson},"result":${subscription.initial.json},` +
      `"processed-tx-id":${txId},"client-event-id":${eventId}}`,
  );
};

/** Handles `remove-query`. */
export const handleRemoveQuery: OpHandler = (session, message) => {
  signedIn(session);
  const q = message['q'];
  const key = canonicalJson(q ?? null);
  session.queries.get(key)?.close();
  session.queries.delete(key);
  session.sendMessage({ op: 'remove-query-ok', q: q ?? null, 'client-event-id': message['client-event-id'] ?? null });
};

/** The session's auth; throws the server's error when `init` has not run. */
export function signedIn(session: ClientSession) {
  if (!session.auth) {
    throw validationFailed('init', { 'sess-id': session.id }, [{ message: '`init` has not run for this session.' }]);
  }
  return session.auth;
}
