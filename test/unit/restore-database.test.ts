/**
 * `restore` over fakes: the paths the sandbox cannot stage on cue — the record or its task gone
 * while the archive is copied, an unclean create, a server that refuses chosen ids — with exactly
 * one app per task and no orphan, whatever happens.
 */
import { describe, expect, it } from 'vitest';
import { RatePause } from '../../src/copy/rate-pause.js';
import { restoreDatabase, type RestoreArchive } from '../../src/core/operations/restore-database.js';
import type { CreatedApp } from '../../src/core/types.js';
import { PlatformError } from '../../src/errors.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { FakePlatform } from '../fakes/fake-platform.js';
import { FakeStore } from '../fakes/fake-store.js';
import { LogSink } from '../fakes/log-sink.js';

const HOME = 'https://instant.example.com';
const RULES = { notes: { allow: { view: 'true', create: 'false' } } };

/** The Platform API with renames. */
class Platform extends FakePlatform {
  async renameApp(appId: string, title: string): Promise<void> {
    const app = this.apps.get(appId);
    if (!app || app.deletedAt !== null) throw new PlatformError('not-found', 'Record not found: app', { status: 400 });
    app.title = title;
  }
}

function setup() {
  const clock = new FakeClock();
  const store = new FakeStore();
  const platform = new Platform(clock);
  const log = new LogSink();
  let ids = 0;
  const taskId = store.addTask();
  const oldApp = { id: 'old-app', adminToken: 'old-token' };
  void platform.createAppWithId(
    { ...oldApp, title: 'calm-blue-river' },
    { hash: 'h', schema: null, perms: {} },
    new AbortController().signal,
  );
  store.putRecord({
    id: 'record-1',
    taskId,
    name: 'calm-blue-river',
    status: 'ready',
    instantAppId: oldApp.id,
    adminToken: oldApp.adminToken,
    apiUri: HOME,
    templateHash: 'h',
    generation: 2,
  });
  const copied: string[] = [];
  let duringCopy: (app: CreatedApp) => void = () => {};
  const archive: RestoreArchive = {
    dir: '/backups/x',
    schema: null,
    rules: RULES,
    entityCount: 3,
    async copyInto(app, _signal, onEntities) {
      copied.push(app.id);
      duringCopy(app);
      onEntities(3);
      return 3;
    },
  };
  const run = (oldAppChoice: 'keep' | 'delete' = 'keep') => {
    const outcome = restoreDatabase(
      {
        store,
        platform,
        openToken: (_record, stored) => stored,
        home: HOME,
        pause: new RatePause(clock),
        clock,
        random: () => 0.5,
        newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
        logger: log,
        owner: 'operator',
        requestTimeoutMs: 5_000,
      },
      { taskId, archive, oldApp: oldAppChoice },
      new AbortController().signal,
    );
    let settled = false;
    void outcome.finally(() => (settled = true));
    return clock.until(() => settled, 600_000, 500).then(() => outcome);
  };
  return {
    clock,
    store,
    platform,
    log,
    taskId,
    oldApp,
    copied,
    run,
    onCopy: (fn: typeof duringCopy) => (duringCopy = fn),
  };
}

describe('restoreDatabase', () => {
  it('names the new app on the record before creating it, copies, then moves the record in one write; the old app is renamed and kept', async () => {
    const t = setup();
    let namedBeforeCopy: string | null | undefined;
    t.onCopy((app) => (namedBeforeCopy = t.store.recordOf(t.taskId)!.pendingAppId === app.id ? app.id : null));
    const outcome = await t.run();
    expect(outcome).toMatchObject({ kind: 'restored', oldAppId: 'old-app', entityCount: 3, resumed: false });
    const newAppId = (outcome as { newAppId: string }).newAppId;
    expect(namedBeforeCopy).toBe(newAppId);
    const record = t.store.recordOf(t.taskId)!;
    expect([record.instantAppId, record.pendingAppId, record.pendingAdminToken, record.templateHash]).toEqual([
      newAppId,
      null,
      null,
      null,
    ]);
    expect(record.adminToken).toBe(t.platform.apps.get(newAppId)!.adminToken);
    expect(record.createdVia).toBe('chosen-id');
    expect(t.platform.apps.get(newAppId)!.template?.perms).toEqual(RULES);
    expect(t.platform.apps.get('old-app')).toMatchObject({
      deletedAt: null,
      title: expect.stringMatching(/^calm-blue-river \(replaced \d{4}-\d{2}-\d{2}\)$/),
    });
    // Two fenced writes: the pending app, then the move.
    expect(record.generation).toBe(4);
  });

  it('the record removed during the copy (its task retired): the new app is deleted, never orphaned', async () => {
    const t = setup();
    t.onCopy(() => t.store.records.delete('record-1'));
    const outcome = await t.run();
    expect(outcome).toMatchObject({ kind: 'failed', reason: expect.stringContaining('the record was removed') });
    expect(t.platform.liveApps().map((app) => app.id)).toEqual(['old-app']);
  });

  it('the record detached by the time of the move (its task went): the new app is deleted, never orphaned', async () => {
    const t = setup();
    // A daemon that retires the record deletes the pending app, but a create in flight can land after that.
    t.onCopy(() => {
      const record = t.store.recordOf(t.taskId)!;
      void t.store.update({ id: record.id, taskId: t.taskId, generation: record.generation }, 'daemon', {
        status: 'detached',
      });
    });
    const outcome = await t.run();
    expect(outcome).toMatchObject({ kind: 'failed', reason: expect.stringContaining('it is detached') });
    expect(t.platform.liveApps().map((app) => app.id)).toEqual(['old-app']);
    expect(t.log.messages('warn')).toContain('no ready record will take the new app; deleted it');
  });

  it('the task deleted during the copy: the record keeps naming both apps, for the daemon to retire', async () => {
    const t = setup();
    t.onCopy(() => t.store.deleteTask(t.taskId));
    const outcome = await t.run();
    expect(outcome).toMatchObject({ kind: 'failed', reason: expect.stringContaining('the task was deleted') });
    const record = t.store.recordOf(t.taskId)!;
    expect(record.instantAppId).toBe('old-app');
    expect(
      t.platform
        .liveApps()
        .map((app) => app.id)
        .sort(),
    ).toEqual(['old-app', record.pendingAppId].sort());
  });

  it('a create that wrote only the app row: resent, found ours, its rules pushed before the copy', async () => {
    const t = setup();
    t.platform.then({ kind: 'bare-then-500' });
    let rulesAtCopy: unknown;
    t.onCopy((app) => (rulesAtCopy = t.platform.apps.get(app.id)!.template?.perms));
    const outcome = await t.run('delete');
    expect(outcome).toMatchObject({ kind: 'restored', oldApp: 'deleted' });
    expect(rulesAtCopy).toEqual(RULES);
    expect(t.platform.calls.createWithId).toBe(3);
    expect(t.platform.liveApps().map((app) => app.id)).toEqual([(outcome as { newAppId: string }).newAppId]);
  });

  it('a server that refuses chosen ids: refused before anything is written', async () => {
    const t = setup();
    t.platform.chosenIds = 'refused';
    const outcome = await t.run();
    expect(outcome).toMatchObject({
      kind: 'refused',
      reason: expect.stringContaining('does not create apps with chosen ids'),
    });
    expect(t.store.counts.update).toBe(0);
    expect(t.copied).toEqual([]);
  });

  it('only a ready database on this server', async () => {
    const t = setup();
    t.store.recordOf(t.taskId)!.apiUri = 'https://api.instantdb.com';
    expect(await t.run()).toMatchObject({
      kind: 'refused',
      reason: expect.stringContaining('lives on https://api.instantdb.com'),
    });
    t.store.recordOf(t.taskId)!.apiUri = HOME;
    t.store.recordOf(t.taskId)!.status = 'provisioning';
    expect(await t.run()).toMatchObject({
      kind: 'refused',
      reason: expect.stringContaining('is provisioning, not ready'),
    });
    expect(t.store.counts.update).toBe(0);
  });
});
