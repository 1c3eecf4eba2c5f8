import { expect, test } from 'vitest';
import { measureSandboxCapacity } from '../../src/sandbox/bench-capacity.js';

test('measureSandboxCapacity drives the daemon cycle through the SDK and reports rates', async () => {
  const result = await measureSandboxCapacity({ tasks: 2_000, seconds: 0.5, concurrency: 4 });
  expect(result).toMatchObject({ tasks: 2_000, concurrency: 4, sandboxThread: 'shared' });
  expect(result.transacts).toBeGreaterThan(10);
  expect(result.transactsPerSecond).toBeGreaterThan(0);
  expect(result.queriesPerSecond).toBeGreaterThan(0);
  expect(result.recomputes).toBeGreaterThan(0);
  expect(result.refreshes).toBeLessThanOrEqual(result.recomputes);
  expect(result.subscriptionPayloads).toBeGreaterThan(0);
});
