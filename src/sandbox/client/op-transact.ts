/**
 * `transact` (session.clj › handle-transact!): the client's tx-steps, translated (tx-steps.ts)
 * and applied all-or-nothing with the reader's write rules (rules/transact-check.ts) unless the
 * session is admin. Answers `transact-ok` with the new `tx-id`; then every live query the write
 * touched, this session's included, hears about it through the same notification as an
 * `/admin/transact`.
 */
import { ruleGuard } from '../rules/transact-check.js';
import { applyTransaction } from '../transact.js';
import { signedIn } from './op-queries.js';
import type { OpHandler } from './session.js';
import { translateTxSteps } from './tx-steps.js';

/** Handles `transact`. */
export const handleTransact: OpHandler = (session, message) => {
  const { app, user, admin } = signedIn(session);
  const { sandbox } = session.services;
  try {
    const tx = translateTxSteps(app.catalog, message['tx-steps'], admin);
    const guard = admin ? undefined : ruleGuard(app, { user });
    const changes = applyTransaction(app, tx.steps, true, sandbox.newId, guard, () =>
      tx.addAttrs(app.catalog, (undo) => app.store.onRollback(undo)),
    );
    const txId = sandbox.nextTxId();
    sandbox.counters.transacts++;
    session.sendMessage({ op: 'transact-ok', 'tx-id': txId, 'client-event-id': message['client-event-id'] ?? null });
    sandbox.live.notify(app, changes, txId);
  } catch (error) {
    sandbox.counters.failedTransacts++;
    throw error;
  }
};
