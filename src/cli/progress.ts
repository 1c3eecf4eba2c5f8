/**
 * Progress of a long command (`reconcile --once`, `template push`) on stderr:
 * a bar when stderr is a terminal (cli-progress), otherwise one line every few
 * seconds, which reads well in CI logs and `kubectl logs`. stdout stays free
 * for the command's summary.
 */
import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';

// Loaded only when a bar is drawn (stderr is a terminal).
const require = createRequire(import.meta.url);

export interface ProgressUpdate {
  done: number;
  total: number;
  /** The total may still grow (pages are still being read): no ETA yet. */
  discovering?: boolean;
}

export interface ProgressReporter {
  update(progress: ProgressUpdate): void;
  /** Prints the final state and releases the terminal. */
  stop(): void;
}

export interface ReporterOptions {
  label: string;
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Lines mode: how often a line is written. */
  everyMs?: number;
  now?: () => number;
}

export function progressReporter(options: ReporterOptions): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  return stream.isTTY
    ? new BarReporter(options.label, stream as NodeJS.WriteStream)
    : new LineReporter({ ...options, stream });
}

class BarReporter implements ProgressReporter {
  private readonly bar: CliProgress.SingleBar;
  private started = false;
  private startedAt = Date.now();

  constructor(label: string, stream: NodeJS.WriteStream) {
    const cliProgress = require('cli-progress') as typeof CliProgress;
    this.bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {value}/{total}{more} | {speed}/s | ETA {eta_formatted}`,
        etaBuffer: 50,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update({ done, total, discovering = false }: ProgressUpdate): void {
    const payload = { more: discovering ? '+' : '', speed: this.speed(done) };
    if (!this.started) {
      this.bar.start(total, done, payload);
      this.started = true;
      this.startedAt = Date.now();
      return;
    }
    this.bar.setTotal(total);
    this.bar.update(done, payload);
  }

  stop(): void {
    if (this.started) this.bar.stop();
  }

  private speed(done: number): string {
    const seconds = (Date.now() - this.startedAt) / 1000;
    return seconds > 0 ? (done / seconds).toFixed(1) : '0.0';
  }
}

/** One line per interval (and a last one at the end), only when something changed. */
export class LineReporter implements ProgressReporter {
  private readonly now: () => number;
  private readonly everyMs: number;
  private readonly startedAt: number;
  private lastLineAt: number;
  private latest: ProgressUpdate | null = null;
  private printed: ProgressUpdate | null = null;

  constructor(private readonly options: ReporterOptions & { stream: NodeJS.WritableStream }) {
    this.now = options.now ?? Date.now;
    this.everyMs = options.everyMs ?? 5_000;
    this.startedAt = this.now();
    this.lastLineAt = this.startedAt;
  }

  update(progress: ProgressUpdate): void {
    this.latest = progress;
    if (this.now() - this.lastLineAt >= this.everyMs) this.print();
  }

  stop(): void {
    if (this.latest && this.latest !== this.printed) this.print();
  }

  private print(): void {
    const progress = this.latest;
    if (!progress) return;
    this.printed = progress;
    this.lastLineAt = this.now();
    this.options.stream.write(
      formatProgressLine(this.options.label, progress, this.lastLineAt - this.startedAt) + '\n',
    );
  }
}

/** `template push: 120/400 (30%), 12.5/s, ETA 22 s`. */
export function formatProgressLine(
  label: string,
  { done, total, discovering }: ProgressUpdate,
  elapsedMs: number,
): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const percent = total > 0 ? Math.floor((done * 100) / total) : 100;
  const parts = [`${label}: ${done}/${total}${discovering ? '+' : ''} (${percent}%)`, `${rate.toFixed(1)}/s`];
  if (!discovering && rate > 0 && done < total) parts.push(`ETA ${Math.ceil((total - done) / rate)} s`);
  return parts.join(', ');
}
