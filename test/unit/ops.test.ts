import { describe, expect, it } from 'vitest';
import { loadConfig, configSecrets } from '../../src/config.js';
import { CreateGate } from '../../src/core/create-gate.js';
import type { GateState } from '../../src/core/ports.js';
import { PlatformError } from '../../src/errors.js';
import { makeScrubber } from '../../src/logger.js';
import { LiveState, readiness } from '../../src/ops/live-state.js';
import { ThroughputSeries } from '../../src/ops/throughput-series.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { FakeStore } from '../fakes/fake-store.js';
import { RecordCensus } from '../../src/ops/record-census.js';
import { SnapshotSource } from '../../src/ops/snapshot.js';
import { PrometheusTelemetry } from '../../src/ops/metrics.js';
import { silentLogger } from '../../src/core/logger.js';

describe('ops building blocks', () => {
  it('throughput buckets count, average and forget what left the window', () => {
    const series = new ThroughputSeries(10_000, 3);
    series.record(5_000, 100);
    series.record(6_000, 300);
    series.record(25_000, 50);
    expect(series.buckets(25_000).map((b) => [b.start, b.ready, b.meanTimeToLinkMs, b.maxTimeToLinkMs])).toEqual([
      [0, 2, 200, 300],
      [10_000, 0, null, null],
      [20_000, 1, 50, 50],
    ]);
    expect(series.buckets(35_000)[0]).toMatchObject({ start: 10_000, ready: 0 });
  });

  it('readiness names each down subscription and a block; a pause that ended is ok', () => {
    const clock = new FakeClock();
    const state = new LiveState(clock);
    expect(readiness(state, clock.now()).reasons).toEqual(['subscriptions-not-started']);
    state.subscriptionChanged('unlinked tasks', true);
    state.subscriptionChanged('unfinished records', false);
    state.gateChanged({ kind: 'blocked', reason: 'app-creation-disabled', message: 'm', since: 0, nextProbeAt: 1 });
    expect(readiness(state, clock.now())).toMatchObject({
      ready: false,
      reasons: ['subscription-down: unfinished records', 'creates-blocked: app-creation-disabled'],
    });
    state.subscriptionChanged('unfinished records', true);
    state.gateChanged({ kind: 'paced', until: clock.now() - 1 });
    expect(readiness(state, clock.now())).toEqual({
      ready: true,
      reasons: [],
      gate: { state: 'ok' },
      createPath: null,
      stuckTasks: 0,
    });
    state.createPath('chosen-id');
    expect(readiness(state, clock.now())).toMatchObject({ createPath: 'chosen-id' });
  });

  it('the create gate reports paced, blocked and open again', () => {
    const clock = new FakeClock();
    const gate = new CreateGate(clock, { baseMs: 1_000, maxMs: 60_000 }, () => 0.5);
    const states: GateState['kind'][] = [];
    gate.onChange((state) => states.push(state.kind));
    gate.failed(new PlatformError('rate-limited', '429', { retryAfterMs: 5_000 }), false);
    gate.failed(new PlatformError('creation-disabled', 'off'), false);
    expect(gate.state).toMatchObject({ kind: 'blocked', reason: 'app-creation-disabled' });
    gate.succeeded(false);
    expect(states).toEqual(['paced', 'blocked', 'paced']);
  });

  it('the HTTP token is a secret the logger scrubs', () => {
    const token = 'http-token-abcdefghijklmnop';
    const config = loadConfig({
      INSTANT_APP_ID: '11111111-1111-4111-8111-111111111111',
      INSTANT_ADMIN_TOKEN: 'admin-secret-1',
      INSTANT_PLATFORM_TOKEN: 'platform-secret-1',
      PROVISIONER_HTTP_TOKEN: token,
    });
    expect(makeScrubber(configSecrets(config))(`Bearer ${token}`)).not.toContain(token);
    expect(() => loadConfig({ ...{ PROVISIONER_HTTP_TOKEN: 'short' } })).toThrow(
      /PROVISIONER_HTTP_TOKEN must be at least 16/,
    );
  });
});

describe('backup figures on the live page', () => {
  it("the census's backup totals and each record's last backup reach the snapshot", async () => {
    const clock = new FakeClock();
    const store = new FakeStore();
    store.addTask('t1');
    store.addTask('t2');
    store.putRecord({
      id: 'd1',
      taskId: 't1',
      name: 'n1',
      status: 'ready',
      lastBackupAt: clock.now() - 60_000,
      entityCount: 12,
      sizeBytes: 3_000,
    });
    store.putRecord({ id: 'd2', taskId: 't2', name: 'n2', status: 'ready' });
    const state = new LiveState(clock);
    await new RecordCensus(store, state, clock, silentLogger).countNow();
    const source = new SnapshotSource(state, store, clock, {
      newest: 10,
      listed: 10,
      maxAgeMs: 0,
      retryEnabled: false,
      showTaskIds: true,
    });
    const snapshot = await source.current();
    expect(snapshot.backups).toEqual({
      backedUp: 1,
      notBackedUp: 1,
      entityCount: 12,
      sizeBytes: 3_000,
      oldestBackupAt: new Date(clock.now() - 60_000).toISOString(),
    });
    expect(snapshot.newest.find((record) => record.taskId === 't1')).toMatchObject({
      lastBackupAt: new Date(clock.now() - 60_000).toISOString(),
      entityCount: 12,
      sizeBytes: 3_000,
    });
    expect(snapshot.newest.find((record) => record.taskId === 't2')).toMatchObject({
      lastBackupAt: null,
      entityCount: null,
    });
  });
});

describe('metrics that keep up', () => {
  const gauge = async (metrics: PrometheusTelemetry, status: string) => {
    const { body } = await metrics.exposition();
    const line = body.split('\n').find((l) => l.startsWith(`instant_provisioner_databases{status="${status}"} `));
    return Number(line?.split(' ')[1]);
  };

  it("the daemon's own transitions move the databases gauge at once; the next census sets it right", async () => {
    const metrics = new PrometheusTelemetry();
    metrics.databaseCounts({ ready: 5 });
    metrics.statusChanged(null, 'provisioning');
    metrics.statusChanged('provisioning', 'ready');
    metrics.statusChanged(null, 'provisioning');
    expect(await gauge(metrics, 'ready')).toBe(6);
    expect(await gauge(metrics, 'provisioning')).toBe(1);
    metrics.statusChanged('ready', 'detached');
    metrics.statusChanged('detached', null);
    expect(await gauge(metrics, 'ready')).toBe(5);
    expect(await gauge(metrics, 'detached')).toBe(0);
    // A count that raced the transitions is the truth from then on.
    metrics.databaseCounts({ ready: 7, provisioning: 0 });
    expect(await gauge(metrics, 'ready')).toBe(7);
    expect(await gauge(metrics, 'provisioning')).toBe(0);
  });

  it('the live page counts move too, and never below zero', () => {
    const state = new LiveState(new FakeClock());
    state.databaseCounts({ provisioning: 0, ready: 1 });
    state.statusChanged('provisioning', 'ready');
    expect(state.databaseCountsNow).toMatchObject({ provisioning: 0, ready: 2 });
  });
});
