import { describe, expect, it } from 'vitest';
import { onStopSignal, stoppedExitCode, untilStopped, withStopSignal } from '../../src/cli/process.js';

describe('stop signals', () => {
  it('calls back on SIGTERM and detaches its listeners again', () => {
    const before = [process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')];
    const stops: string[] = [];
    const detach = onStopSignal((signal) => stops.push(signal));
    expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]).toEqual([
      before[0]! + 1,
      before[1]! + 1,
    ]);
    process.emit('SIGTERM', 'SIGTERM');
    expect(stops).toEqual(['SIGTERM']);
    detach();
    expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]).toEqual(before);
  });

  it('a long-running command ends with 130 after Ctrl-C and 0 after SIGTERM', async () => {
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 0],
    ] as const) {
      const run = withStopSignal(async (stopping) => {
        await untilStopped(stopping);
        return stoppedExitCode(stopping.reason);
      });
      process.emit(signal, signal);
      expect(await run).toBe(code);
    }
  });
});
