import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatProgressLine, LineReporter, progressReporter } from '../../src/cli/progress.js';

describe('progress lines (not a terminal)', () => {
  it('writes at most one line per interval and a last one at the end', () => {
    let now = 0;
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
    const reporter = new LineReporter({ label: 'push', stream: out, everyMs: 5_000, now: () => now });
    reporter.update({ done: 1, total: 10 });
    now = 4_999;
    reporter.update({ done: 4, total: 10 });
    now = 5_000;
    reporter.update({ done: 5, total: 10 });
    now = 6_000;
    reporter.update({ done: 6, total: 10 });
    reporter.stop();
    out.end();
    expect(lines).toEqual(['push: 5/10 (50%), 1.0/s, ETA 5 s', 'push: 6/10 (60%), 1.0/s, ETA 4 s']);
  });

  it('gives no ETA while the total may still grow', () => {
    expect(formatProgressLine('reconcile --once', { done: 50, total: 80, discovering: true }, 10_000)).toBe(
      'reconcile --once: 50/80+ (62%), 5.0/s',
    );
    expect(formatProgressLine('x', { done: 0, total: 0 }, 0)).toBe('x: 0/0 (100%), 0.0/s');
  });
});

describe('progress bar (a terminal)', () => {
  it('draws a bar with the label and the count, and stops', () => {
    const out = Object.assign(new PassThrough(), {
      isTTY: true,
      columns: 100,
      cursorTo() {},
      clearLine() {},
      moveCursor() {},
    });
    let written = '';
    out.on('data', (chunk: Buffer) => (written += chunk.toString()));
    const reporter = progressReporter({ label: 'backup', stream: out });
    reporter.update({ done: 3, total: 10 });
    reporter.update({ done: 10, total: 10 });
    reporter.stop();
    expect(written).toContain('backup [');
    expect(written).toContain('10/10');
  });
});
