/** `status`: when a detached record's app goes, and how long its lists are. */
import { describe, expect, it } from 'vitest';
import { buildStatusReport, LISTED } from '../../src/core/operations/status-report.js';
import { FakeStore } from '../fakes/fake-store.js';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const policy = { onTaskDelete: 'delete' as const, graceMs: 86_400_000, settleMarginMs: 5_000 };

describe('status report', () => {
  it('deletesAt is when the daemon deletes the app: detached + grace + settle margin', async () => {
    const store = new FakeStore();
    const detachedAt = NOW - 1_000;
    store.putRecord({ id: 'r1', taskId: 't1', name: 'calm-red-heron', status: 'detached', detachedAt });
    const report = await buildStatusReport(store, NOW, policy, null);
    expect(report.detached.map((record) => record.deletesAt)).toEqual([
      new Date(detachedAt + 86_400_000 + 5_000).toISOString(),
    ]);
    const retained = await buildStatusReport(store, NOW, { ...policy, onTaskDelete: 'retain' }, null);
    expect(retained.detached.map((record) => record.deletesAt)).toEqual([null]);
  });

  it('lists at most 100 records per list; the counts are complete', async () => {
    const store = new FakeStore();
    for (let i = 0; i < LISTED + 5; i++) {
      store.putRecord({ id: `d${i}`, taskId: `td${i}`, name: `d-${i}`, status: 'detached', detachedAt: NOW });
      store.putRecord({ id: `k${i}`, taskId: `tk${i}`, name: `k-${i}`, status: 'retained', detachedAt: NOW });
    }
    const report = await buildStatusReport(store, NOW, policy, null);
    expect(LISTED).toBe(100);
    expect([report.detached.length, report.retained.length]).toEqual([100, 100]);
    expect(report.counts).toMatchObject({ detached: 105, retained: 105 });
  });
});
