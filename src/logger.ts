/**
 * pino, JSON by default and pretty in a terminal, with secrets scrubbed from
 * every line: values under token-like keys, any configured secret wherever it
 * appears in a string (error messages included), and error stacks.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type PinoPretty from 'pino-pretty';

// Loaded only for a terminal: ~40 ms of every JSON-logging process's start otherwise.
const require = createRequire(import.meta.url);

export interface LoggerOptions {
  level: string;
  /** Human-readable lines (for a terminal) instead of JSON. */
  pretty: boolean;
  /** Values that must never be printed, e.g. the configured tokens. */
  secrets: string[];
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
}

/**
 * The logger as configured: `--log-format`, else pretty in a terminal and JSON
 * otherwise. The daemon logs to stdout; commands whose stdout is a report
 * (status, gc, template push) log to stderr.
 */
export function createConfiguredLogger(
  config: { logLevel: string; logFormat: 'json' | 'pretty' | undefined },
  secrets: string[],
  to: 'stdout' | 'stderr' = 'stdout',
): PinoLogger {
  const stream = to === 'stdout' ? process.stdout : process.stderr;
  const pretty = (config.logFormat ?? (stream.isTTY ? 'pretty' : 'json')) === 'pretty';
  return createLogger({
    level: config.logLevel,
    pretty,
    secrets,
    ...(to === 'stderr' ? { destination: pretty ? prettyStream(2) : pino.destination({ dest: 2, sync: true }) } : {}),
  });
}

function prettyStream(fd: 1 | 2): DestinationStream {
  const pretty = require('pino-pretty') as typeof PinoPretty;
  return pretty({
    colorize: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    destination: fd,
  });
}

const SECRET_KEY = /token|authorization|secret|password|cookie/i;
const REDACTED = '[redacted]';
const MAX_DEPTH = 8;

export function createLogger(options: LoggerOptions): PinoLogger {
  const scrub = makeScrubber(options.secrets);
  const destination = options.destination ?? (options.pretty ? prettyStream(1) : stdoutDestination());
  const logger = pino(
    {
      level: options.level,
      base: { pid: process.pid },
      formatters: {
        bindings: (bindings) => scrub(bindings) as Record<string, unknown>,
        log: (object) => scrub(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((arg) => (typeof arg === 'string' ? (scrub(arg) as string) : arg)) as Parameters<typeof method>,
          );
        },
      },
    },
    destination,
  );
  // pino applies `formatters.bindings` to the root only; children inherit this override.
  const child = logger.child;
  logger.child = function (this: PinoLogger, bindings, options) {
    return child.call(this, scrub(bindings) as typeof bindings, options);
  } as typeof logger.child;
  return logger;
}

/**
 * stdout, written synchronously. pino's default destination writes asynchronously, at most
 * 16 KB per event-loop turn: a daemon kept busy by a large backlog fell further behind every
 * second (lines seconds late, the unwritten buffer growing in memory). A write per line is cheap.
 */
export function stdoutDestination(): DestinationStream & { sync?: boolean } {
  return pino.destination({ dest: 1, sync: true });
}

/** Returns a function that copies a value with every secret replaced. */
export function makeScrubber(secrets: string[]): (value: unknown) => unknown {
  // Every secret, however short (longest first, so one inside another is not half-replaced).
  const known = [...new Set(secrets.filter((secret) => secret !== ''))].sort((a, b) => b.length - a.length);
  const scrubString = (text: string) => known.reduce((out, secret) => out.split(secret).join(REDACTED), text);
  const visit = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return scrubString(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth > MAX_DEPTH) return '[too deep]';
    if (value instanceof Error) {
      // A message only: stacks and causes may carry request bodies.
      return { type: value.name, message: scrubString(value.message) };
    }
    if (Array.isArray(value)) return value.map((item) => visit(item, depth + 1));
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      copy[key] =
        SECRET_KEY.test(key) && item !== null && typeof item !== 'boolean' && typeof item !== 'number'
          ? REDACTED
          : visit(item, depth + 1);
    }
    return copy;
  };
  return (value) => visit(value, 0);
}
