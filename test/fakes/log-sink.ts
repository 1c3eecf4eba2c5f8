import type { Logger } from '../../src/core/logger.js';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

/** A Logger that keeps every entry, with child bindings merged in. */
export class LogSink implements Logger {
  constructor(
    readonly entries: LogEntry[] = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}

  debug(fields: object, message = ''): void {
    this.push('debug', fields, message);
  }
  info(fields: object, message = ''): void {
    this.push('info', fields, message);
  }
  warn(fields: object, message = ''): void {
    this.push('warn', fields, message);
  }
  error(fields: object, message = ''): void {
    this.push('error', fields, message);
  }
  child(bindings: object): Logger {
    return new LogSink(this.entries, { ...this.bindings, ...bindings });
  }

  messages(level?: LogEntry['level']): string[] {
    return this.entries.filter((entry) => !level || entry.level === level).map((entry) => entry.message);
  }

  private push(level: LogEntry['level'], fields: object, message: string): void {
    this.entries.push({ level, message, fields: { ...this.bindings, ...fields } });
  }
}
