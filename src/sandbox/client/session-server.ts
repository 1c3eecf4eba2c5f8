/**
 * The client protocol's endpoints: WebSocket upgrades of `/runtime/session` on the sandbox's HTTP
 * server (the `ws` package in `noServer` mode), and the SSE transport `@instantdb/react` falls
 * back to when a WebSocket closes before its first message (`GET /runtime/sse` streams the
 * server's messages after an `sse-init`; `POST /runtime/sse` carries the client's, named by
 * session id and token; runtime/routes.clj › sse-get, sse-post). One ClientSession per socket or
 * stream; the sessions of each app hear when that app's transactions have been recomputed. Any
 * other upgrade path is refused with 404. The server pings nobody: idle sessions cost no timer.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { SandboxApp } from '../apps.js';
import type { SandboxContext } from '../context.js';
import { handleInit } from './op-init.js';
import { handleAddQuery, handleRemoveQuery } from './op-queries.js';
import { handleTransact } from './op-transact.js';
import { ClientSession, type OpHandler, type SessionServices } from './session.js';

/** The path `@instantdb/core` opens (`websocketURI`, `ws://host:port/runtime/session`). */
export const SESSION_PATH = '/runtime/session';

const MAX_FRAME_BYTES = 64 * 1024 * 1024;

const HANDLERS: Readonly<Record<string, OpHandler>> = {
  init: handleInit,
  'add-query': handleAddQuery,
  'remove-query': handleRemoveQuery,
  transact: handleTransact,
};

/** The open client sessions of one sandbox. */
export class ClientSessions {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES });
  private readonly byApp = new Map<SandboxApp, { sessions: Set<ClientSession>; stop: () => void }>();
  private readonly streams = new Map<string, { session: ClientSession; token: string; res: ServerResponse }>();
  private readonly services: SessionServices;

  constructor(server: Server, ctx: SandboxContext, onUnexpected: (error: unknown) => void) {
    this.services = { sandbox: ctx, join: (app, session) => this.join(app, session), onUnexpected };
    server.on('upgrade', this.onUpgrade);
  }

  /** Sessions connected now (WebSocket and SSE). */
  get count(): number {
    return this.wss.clients.size + this.streams.size;
  }

  /** Drops every session (their clients reconnect) and stops accepting new ones. */
  close(): void {
    for (const socket of this.wss.clients) socket.terminate();
    this.wss.close();
    for (const { res } of [...this.streams.values()]) res.end();
  }

  /** Turns a `GET /runtime/sse` into a session: the stream carries what the session sends. */
  openStream(res: ServerResponse, headers: Record<string, string>): void {
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const session = new ClientSession({ send: (text) => res.write(`data: ${text}\n\n`) }, this.services, HANDLERS);
    const token = randomUUID();
    this.streams.set(session.id, { session, token, res });
    res.on('close', () => {
      this.streams.delete(session.id);
      session.close();
    });
    const init = { op: 'sse-init', 'machine-id': randomUUID(), 'session-id': session.id, 'sse-token': token };
    res.write(`data: ${JSON.stringify(init)}\n\n`);
  }

  /** A `POST /runtime/sse`: the messages of the stream `sessionId`; false when no such stream (or token). */
  postToStream(sessionId: string, token: string, messages: readonly unknown[]): boolean {
    const stream = this.streams.get(sessionId);
    if (!stream || stream.token !== token) return false;
    stream.session.receiveMessages(messages);
    return true;
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = new URL(req.url ?? '/', 'http://sandbox.invalid').pathname;
    if (path !== SESSION_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  };

  private accept(ws: WebSocket): void {
    const session = new ClientSession({ send: (text) => ws.send(text) }, this.services, HANDLERS);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      session.receive(data.toString());
    });
    ws.on('close', () => session.close());
    ws.on('error', () => ws.terminate());
  }

  private join(app: SandboxApp, session: ClientSession): () => void {
    let entry = this.byApp.get(app);
    if (!entry) {
      const sessions = new Set<ClientSession>();
      const stop = this.services.sandbox.live.watch(app, (txId) => {
        for (const s of sessions) s.afterTransactions(txId);
      });
      entry = { sessions, stop };
      this.byApp.set(app, entry);
    }
    entry.sessions.add(session);
    const joined = entry;
    return () => {
      joined.sessions.delete(session);
      if (!joined.sessions.size) {
        joined.stop();
        this.byApp.delete(app);
      }
    };
  }
}
