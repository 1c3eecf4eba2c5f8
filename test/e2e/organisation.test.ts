/**
 * `--org-id`: the task apps belong to an organisation, on both create paths. Org apps are not in
 * the personal listing, so the server-id path must find a lost answer's app in the org's listing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../fakes/fake-clock.js';
import { audit, createTasks, eventuallyOn, provisioner, settledOn, world, type World } from './helpers.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe.each(['chosen-id', 'server-id'] as const)('apps owned by an organisation, %s', (createVia) => {
  it('every app is made in the organisation; a lost answer is found there; one app per task', async () => {
    const clock = new FakeClock();
    const w = (current = await world({ clock, cloud: createVia === 'server-id', faults: { pLost: 1 } }));
    const daemon = provisioner(w, { orgId: w.sandbox.orgId, maxAttempts: '50' });
    daemon.provisioner.start();
    await createTasks(w.db, 3, clock);
    await eventuallyOn(clock, daemon, () => w.sandbox.stats().faults.createLost >= 3);
    w.sandbox.faults.reset();
    await eventuallyOn(clock, daemon, async () => (await audit(w)).problems.length === 0);
    await settledOn(clock, daemon, daemon.provisioner.stop());

    expect(daemon.provisioner.createPath).toBe(createVia);
    expect(await audit(w)).toMatchObject({ tasks: 3, live: 3, problems: [] });
    const listing = await fetch(`${w.sandbox.url}/superadmin/orgs/${w.sandbox.orgId}/apps`, {
      headers: { authorization: `Bearer ${w.sandbox.platformToken}` },
    });
    const { apps } = (await listing.json()) as { apps: Array<{ id: string; org_id: string }> };
    const { databases } = await w.db.query({ databases: {} });
    expect(apps.map((app) => app.id).sort()).toEqual(databases.map((d) => d.instantAppId).sort());
    // None landed in the platform token user's own account (where only the main app is).
    const personal = await fetch(`${w.sandbox.url}/superadmin/apps`, {
      headers: { authorization: `Bearer ${w.sandbox.platformToken}` },
    });
    const own = ((await personal.json()) as { apps: Array<{ id: string }> }).apps.map((app) => app.id);
    expect(own).toEqual([w.appId]);
  });
});
