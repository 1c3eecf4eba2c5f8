/**
 * One client session: a WebSocket on `/runtime/session` as `@instantdb/core` speaks it
 * (reactive/session.clj). Every frame is parsed, each message is dispatched to the handler of
 * its `op`, and a handler's failure becomes the protocol's `error` message (with the
 * `original-event` the client routes it by), never a dropped socket.
 *
 *   init          → init-ok (once; nothing else is served before it)
 *   add-query     → add-query-ok | add-query-exists, then refresh-ok whenever the result changes
 *   remove-query  → remove-query-ok
 *   transact      → transact-ok, then refresh-ok to every session whose queries it changed
 *   anything else → error param-malformed "Invalid op"
 *
 * What a session sends in one turn of the event loop leaves as one frame (a JSON array for
 * clients that accept them). An idle session costs no timer: only its socket and its queries.
 */
import { randomUUID } from 'node:crypto';
import type { SandboxApp } from '../apps.js';
import type { AppUser } from '../app-users.js';
import type { SandboxContext } from '../context.js';
import { SandboxHttpError, type Json } from '../errors.js';
import { traceId } from '../http.js';
import type { LiveSubscription } from '../live.js';
import { attrsJson } from './attrs.js';
import type { ClientFeatures } from './client-versions.js';

/** The socket a session writes to (a `ws` WebSocket, or a test double). */
export interface SessionSocket {
  send(text: string): void;
}

/** Who a session is, once `init` ran. */
export interface SessionAuth {
  readonly app: SandboxApp;
  /** The signed-in user; null for a guest (no refresh token). */
  readonly user: AppUser | null;
  /** Opened with the app's admin token: no rule applies. */
  readonly admin: boolean;
}

/** What sessions share: the sandbox, the sessions of each app, and where unexpected errors go. */
export interface SessionServices {
  readonly sandbox: SandboxContext;
  /** Registers a session with its app (after init), so transactions reach it; returns the leave. */
  join(app: SandboxApp, session: ClientSession): () => void;
  onUnexpected(error: unknown): void;
}

/** A message as received: a JSON object with an `op`. */
export type ClientMessage = Record<string, unknown> & { readonly op?: unknown };

/** Answers one message; throws a SandboxHttpError to answer with the protocol's error. */
export type OpHandler = (session: ClientSession, message: ClientMessage) => void;

const YIKES = 'Yikes, something broke on our end! Sorry about that.';

/** One connected client. */
export class ClientSession {
  readonly id = randomUUID();
  auth: SessionAuth | null = null;
  features: ClientFeatures = { batch: false, skipAttrs: true };
  /** Live queries by the canonical JSON of their `q`. */
  readonly queries = new Map<string, LiveSubscription>();
  private attrsVersion = -1;
  private leave: (() => void) | null = null;
  private outbox: string[] = [];
  private computations: string[] = [];
  private refreshTxId: number | null = null;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly socket: SessionSocket,
    readonly services: SessionServices,
    private readonly handlers: Readonly<Record<string, OpHandler>>,
  ) {}

  /** Handles one frame: an object, or an array of them. */
  receive(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.sendError(new SandboxHttpError(400, { type: 'param-malformed', message: 'Malformed JSON message.' }), {});
      return;
    }
    this.receiveMessages(Array.isArray(parsed) ? parsed : [parsed]);
  }

  /** Handles parsed messages (the SSE transport's POST carries a list). */
  receiveMessages(messages: readonly unknown[]): void {
    for (const message of messages) {
      if (typeof message !== 'object' || message === null || Array.isArray(message)) {
        this.sendError(new SandboxHttpError(400, { type: 'param-malformed', message: 'A message is an object.' }), {});
        continue;
      }
      this.dispatch(message as ClientMessage);
    }
  }

  /** Marks the session signed in and registers it with its app. */
  start(auth: SessionAuth, features: ClientFeatures): void {
    this.auth = auth;
    this.features = features;
    this.attrsVersion = auth.app.catalog.version;
    this.leave = this.services.join(auth.app, this);
  }

  /** Queues a message already serialized as JSON. */
  send(json: string): void {
    if (this.closed) return;
    this.outbox.push(json);
    this.schedule();
  }

  /** Queues a message object. */
  sendMessage(message: Record<string, unknown>): void {
    this.send(JSON.stringify(message));
  }

  /** Answers `original` with the protocol's error for `error`. */
  sendError(error: unknown, original: ClientMessage): void {
    if (original.op === 'error') return; // never answer an error with an error
    const known = error instanceof SandboxHttpError && error.jsonBody ? error : null;
    if (!known) this.services.onUnexpected(error);
    const body: Record<string, Json> = known ? { ...known.jsonBody! } : { message: YIKES };
    this.sendMessage({
      op: 'error',
      status: known ? known.status : 500,
      ...body,
      'client-event-id': original['client-event-id'] ?? null,
      'original-event': original,
      'trace-id': traceId(),
    });
  }

  /** A live query's result changed: it goes out in this turn's refresh-ok. */
  queueComputation(queryJson: string, resultJson: string, txId: number): void {
    this.computations.push(`{"instaql-query":${queryJson},"instaql-result":${resultJson}}`);
    this.refreshTxId = Math.max(this.refreshTxId ?? 0, txId);
    this.schedule();
  }

  /** After the app's transactions were recomputed: a session with stale attrs hears about them. */
  afterTransactions(txId: number): void {
    if (this.auth && this.attrsVersion !== this.auth.app.catalog.version) {
      this.refreshTxId = Math.max(this.refreshTxId ?? 0, txId);
      this.schedule();
    }
  }

  /** Sends the app's attrs now (a refresh-ok without computations) if the session's are stale. */
  sendAttrsIfStale(txId: number): void {
    if (this.auth && this.attrsVersion !== this.auth.app.catalog.version) this.send(this.refreshJson([], txId));
  }

  /** The socket closed: stop every live query. */
  close(): void {
    this.closed = true;
    for (const query of this.queries.values()) query.close();
    this.queries.clear();
    this.leave?.();
    this.leave = null;
    this.outbox = [];
  }

  private dispatch(message: ClientMessage): void {
    const handler = typeof message.op === 'string' ? this.handlers[message.op] : undefined;
    try {
      if (!handler) {
        throw new SandboxHttpError(400, {
          type: 'param-malformed',
          message: 'Invalid op',
          hint: { op: message.op as Json },
        });
      }
      handler(this, message);
    } catch (error) {
      this.sendError(error, message);
    }
  }

  private refreshJson(computations: string[], txId: number): string {
    const app = this.auth!.app;
    let attrs = '';
    if (!this.features.skipAttrs || this.attrsVersion !== app.catalog.version) {
      attrs = `,"attrs":${attrsJson(app.catalog)}`;
      this.attrsVersion = app.catalog.version;
    }
    return `{"op":"refresh-ok","processed-tx-id":${txId},"computations":[${computations.join(',')}]${attrs}}`;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    if (this.refreshTxId !== null) {
      this.outbox.push(this.refreshJson(this.computations, this.refreshTxId));
      this.computations = [];
      this.refreshTxId = null;
    }
    const out = this.outbox;
    this.outbox = [];
    if (this.features.batch && out.length > 1) this.socket.send(`[${out.join(',')}]`);
    else for (const json of out) this.socket.send(json);
  }
}
