import { describe, expect, it } from 'vitest';
import { onMemoryReportSignal } from '../../src/cli/reconcile.js';
import { LogSink } from '../fakes/log-sink.js';

describe('memory report on SIGUSR2', () => {
  it('logs process.memoryUsage() at info on each signal and detaches its listener again', () => {
    const before = process.listenerCount('SIGUSR2');
    const log = new LogSink();
    const detach = onMemoryReportSignal(log);
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);

    process.emit('SIGUSR2');
    process.emit('SIGUSR2');

    expect(log.messages('info')).toEqual(['memory usage', 'memory usage']);
    const fields = log.entries[0]!.fields;
    for (const key of ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers', 'heapSizeLimit']) {
      expect(fields[key]).toBeTypeOf('number');
      expect(fields[key] as number).toBeGreaterThanOrEqual(0);
    }
    expect(fields.heapUsed as number).toBeGreaterThan(0);
    expect(fields.afterGc).toBe(typeof (globalThis as { gc?: unknown }).gc === 'function');
    detach();
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });
});
