import { describe, expect, it } from 'vitest';
import { onStopSignal } from '../../src/cli/process.js';

describe('stop signals', () => {
  it('calls back on SIGTERM and detaches its listeners again', () => {
    const before = [process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')];
    let stops = 0;
    const detach = onStopSignal(() => stops++);
    expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]).toEqual([
      before[0]! + 1,
      before[1]! + 1,
    ]);
    process.emit('SIGTERM');
    expect(stops).toBe(1);
    detach();
    expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]).toEqual(before);
  });
});
