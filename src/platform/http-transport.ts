/**
 * One HTTP request over node:http(s) with keep-alive, its answer read up to a
 * size limit. Not fetch: a fetch costs about five times the CPU of a plain
 * request, and the daemon makes one Platform call per task.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** Thrown when the answer is larger than the limit; the connection is dropped unread. */
export class BodyTooLargeError extends Error {
  constructor(
    readonly limit: number,
    readonly status: number,
  ) {
    super(`answer is larger than ${limit} bytes`);
  }
}

export interface RequestInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  maxBytes: number;
  /** Receives a 200 answer's body chunk by chunk (the answer's `body` is then empty); a throw fails the request. */
  sink?: (chunk: Buffer) => void;
}

export class HttpTransport {
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;

  constructor(baseUrl: string) {
    const secure = new URL(baseUrl).protocol === 'https:';
    this.agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.send = secure ? (httpsRequest as typeof httpRequest) : httpRequest;
  }

  /** Rejects with the socket's error, or with the signal's reason when it aborts first. */
  request(url: string, init: RequestInit): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      // The first outcome wins: destroying a socket makes it report errors of its own afterwards.
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        outcome();
      };
      const req = this.send(url, {
        method: init.method,
        headers: init.headers,
        agent: this.agent,
        signal: init.signal,
      });
      req.on('error', (error) => settle(() => reject(error)));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const tooLarge = () => {
          settle(() => reject(new BodyTooLargeError(init.maxBytes, status)));
          req.destroy();
        };
        if (Number(res.headers['content-length']) > init.maxBytes) return tooLarge();
        // A success may be streamed to the caller instead of kept; errors are always kept, to be read.
        const sink = status === 200 ? init.sink : undefined;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > init.maxBytes) return tooLarge();
          if (!sink) return void chunks.push(chunk);
          try {
            sink(chunk);
          } catch (error) {
            settle(() => reject(error));
            req.destroy();
          }
        });
        res.on('error', (error) => settle(() => reject(error)));
        res.on('aborted', () =>
          settle(() => reject(new Error('the connection closed before the answer was complete'))),
        );
        res.on('end', () =>
          settle(() => resolve({ status, headers: toHeaders(res), body: Buffer.concat(chunks).toString('utf8') })),
        );
      });
      req.end(init.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function toHeaders(res: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}
