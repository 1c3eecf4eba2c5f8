import { describe, expect, it } from 'vitest';
import { stdoutDestination } from '../../src/logger.js';

describe('log destination', () => {
  it('writes to stdout synchronously, so a busy daemon never falls behind with its log', () => {
    const destination = stdoutDestination();
    expect(destination.sync).toBe(true);
    expect((destination as unknown as { fd: number }).fd).toBe(1);
  });
});
