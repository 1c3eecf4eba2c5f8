/**
 * The sandbox capacity measurement (bench/sandbox-capacity.ts) does what it says, on a fixed
 * amount of work: so many cycles, not so many seconds, so what it counts does not depend on how
 * busy the machine is. No rate is asserted beyond being measured.
 */
import { expect, test } from 'vitest';
import { measureSandboxCapacity } from '../../bench/sandbox-capacity.js';

test('measureSandboxCapacity drives the daemon cycle through the SDK and reports rates', async () => {
  const result = await measureSandboxCapacity({ tasks: 2_000, cycles: 40, concurrency: 4 });
  expect(result).toMatchObject({ tasks: 2_000, concurrency: 4, sandboxThread: 'shared' });
  // Per cycle a claim and a fenced update; every 20th cycle also a delete.
  expect(result.transacts).toBe(40 * 2 + 2);
  // Per cycle a read back; every 10th also a name lookup.
  expect(result.queries).toBe(40 + 4);
  // 20 tasks start unlinked (1%): the 40 cycles needed more, made as a browser would.
  expect(result.taskBatches).toBeGreaterThan(0);
  expect(result.transactsPerSecond).toBeGreaterThan(0);
  expect(result.queriesPerSecond).toBeGreaterThan(0);
  expect(result.recomputes).toBeGreaterThan(0);
  expect(result.refreshes).toBeLessThanOrEqual(result.recomputes);
  expect(result.subscriptionPayloads).toBeGreaterThan(0);
});

test('takes either a length or a number of cycles', async () => {
  await expect(measureSandboxCapacity({ tasks: 10 })).rejects.toThrow('give either seconds or cycles');
  await expect(measureSandboxCapacity({ tasks: 10, seconds: 1, cycles: 1 })).rejects.toThrow(
    'give either seconds or cycles',
  );
});
