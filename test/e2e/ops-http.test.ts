/** The daemon's HTTP server, through the built CLI against the sandbox. */
import { afterEach, describe, expect, it } from 'vitest';
import { createTasks, eventually, runCli, spawnDaemon, world, type RunningDaemon, type World } from './helpers.js';

const TOKEN = 'ops-test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
let w: World | undefined;
let daemon: RunningDaemon | undefined;

afterEach(async () => {
  await daemon?.stop();
  await w?.close();
  daemon = w = undefined;
});

async function startDaemon(extraEnv: Record<string, string> = {}) {
  w = await world();
  daemon = spawnDaemon(['reconcile', '--http-port', '0', '--backoff-base', '50', '--backoff-max', '200'], {
    ...w.env,
    ...extraEnv,
  });
  const { url } = (await daemon.waitFor('http server listening')) as { url: string };
  return url;
}

const metricValue = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('ops HTTP server', () => {
  it('serves health, metrics at zero, then counts; never shows an admin token', async () => {
    const url = await startDaemon({ PROVISIONER_HTTP_TOKEN: TOKEN });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const first = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(first, 'instant_provisioner_databases{status="ready"}')).toBe(0);
    expect(metricValue(first, 'instant_provisioner_creates_in_flight')).toBe(0);
    expect(metricValue(first, 'instant_provisioner_orphans_deleted_total')).toBe(0);
    expect(metricValue(first, 'instant_provisioner_resubscribes_total')).toBe(0);
    expect(metricValue(first, 'instant_provisioner_blocked{reason="app-creation-disabled"}')).toBe(0);
    expect(metricValue(first, 'instant_provisioner_platform_requests_total{operation="create",outcome="ok"}')).toBe(0);
    expect(metricValue(first, 'instant_provisioner_time_to_link_seconds_count')).toBe(0);
    expect(metricValue(first, 'instant_provisioner_main_app_writes_total')).toBe(0);
    expect(metricValue(first, 'instant_provisioner_main_app_transactions_total')).toBe(0);

    await eventually(async () => (await fetch(`${url}/readyz`)).status === 200);
    // The sandbox lets us choose app ids, so `auto` chose that path, and says so.
    expect(await (await fetch(`${url}/readyz`)).json()).toMatchObject({ createPath: 'chosen-id' });
    expect(
      metricValue(await (await fetch(`${url}/metrics`)).text(), 'instant_provisioner_create_path{path="chosen-id"}'),
    ).toBe(1);
    const taskIds = await createTasks(w!.db, 3);
    await eventually(async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return (
        metricValue(text, 'instant_provisioner_databases{status="ready"}') === 3 &&
        metricValue(text, 'instant_provisioner_time_to_link_seconds_count') === 3 &&
        metricValue(text, 'instant_provisioner_create_duration_seconds_count') === 3 &&
        // A claim and a ready write per task, in as many transactions or fewer (grouped).
        metricValue(text, 'instant_provisioner_main_app_writes_total') === 6
      );
    });
    const transactions = metricValue(
      await (await fetch(`${url}/metrics`)).text(),
      'instant_provisioner_main_app_transactions_total',
    );
    expect(transactions).toBeGreaterThanOrEqual(2);
    expect(transactions).toBeLessThanOrEqual(6);
    expect((await fetch(`${url}/api/status`)).status).toBe(401);
    const status = await (await fetch(`${url}/api/status`, { headers: AUTH })).text();
    const snapshot = JSON.parse(status) as {
      newest: Array<{ status: string; appId: string; taskId: string | null }>;
      actions: unknown;
    };
    expect(snapshot.newest.filter((r) => r.status === 'ready')).toHaveLength(3);
    expect(snapshot.newest.map((r) => r.taskId).sort()).toEqual([...taskIds].sort());
    expect(snapshot.actions).toEqual({ retry: true });
    const { databases } = await w!.db.query({ databases: {} });
    const adminTokens = databases.map((d) => (d as { adminToken?: string }).adminToken).filter(Boolean) as string[];
    expect(adminTokens).toHaveLength(3);
    const events = await readFirstEvent(`${url}/events`, AUTH);
    for (const token of [...adminTokens, w!.env.INSTANT_ADMIN_TOKEN!, w!.env.INSTANT_PLATFORM_TOKEN!, TOKEN]) {
      expect(status).not.toContain(token);
      expect(events).not.toContain(token);
    }
    expect((await fetch(`${url}/`)).headers.get('content-type')).toContain('text/html');

    // `status` asks the daemon, which says how it creates apps.
    const report = await runCli(['status', '--json', '--daemon-url', url], w!.env);
    expect(JSON.parse(report.stdout)).toMatchObject({ daemon: { ready: true, createPath: 'chosen-id' } });
  });

  it('is not ready while creates are blocked; retry needs the token and then works', async () => {
    const url = await startDaemon({ PROVISIONER_HTTP_TOKEN: TOKEN, PROVISIONER_MAX_ATTEMPTS: '1' });
    await eventually(async () => (await fetch(`${url}/readyz`)).status === 200);
    w!.sandbox.faults.set({ p500: 1 });
    const [taskId] = await createTasks(w!.db, 1);
    await eventually(async () => {
      const snapshot = (await (await fetch(`${url}/api/status`, { headers: AUTH })).json()) as {
        newest: Array<{ status: string }>;
      };
      return snapshot.newest[0]?.status === 'failed';
    });
    w!.sandbox.faults.set({ p500: 0 });
    const retry = (authorization?: string) =>
      fetch(`${url}/api/retry`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ taskId }),
      });
    expect((await retry()).status).toBe(401);
    expect((await retry('Bearer wrong-token-0123456789')).status).toBe(401);
    const answer = await retry(`Bearer ${TOKEN}`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ taskId, outcome: 'retried' });
    await eventually(async () => {
      const snapshot = (await (await fetch(`${url}/api/status`, { headers: AUTH })).json()) as {
        newest: Array<{ status: string }>;
      };
      return snapshot.newest[0]?.status === 'ready';
    });

    w!.sandbox.faults.set({ windDown: true });
    await createTasks(w!.db, 1);
    await eventually(async () => (await fetch(`${url}/readyz`)).status === 503);
    const body = (await (await fetch(`${url}/readyz`)).json()) as { ready: boolean; reasons: string[] };
    expect(body).toMatchObject({ ready: false, reasons: ['creates-blocked: app-creation-disabled'] });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(metrics, 'instant_provisioner_blocked{reason="app-creation-disabled"}')).toBe(1);
  });

  it('refuses every action with 403 and names no task when no token is configured', async () => {
    const url = await startDaemon();
    const answer = await fetch(`${url}/api/retry`, { method: 'POST', body: JSON.stringify({ taskId: 'x' }) });
    expect(answer.status).toBe(403);
    const [taskId] = await createTasks(w!.db, 1);
    let status = '';
    await eventually(async () => {
      status = await (await fetch(`${url}/api/status`)).text();
      return (JSON.parse(status) as { newest: unknown[] }).newest.length === 1;
    });
    const snapshot = JSON.parse(status) as { actions: unknown; newest: Array<{ taskId: unknown; name: string }> };
    expect(snapshot.actions).toEqual({ retry: false });
    expect(snapshot.newest[0]!.taskId).toBeNull();
    expect(snapshot.newest[0]!.name).toMatch(/^[a-z]+-[a-z]+-[a-z]+$/);
    expect(status).not.toContain(taskId!);
    expect(await readFirstEvent(`${url}/events`)).not.toContain(taskId!);
  });
});

/** Reads /events until its first snapshot arrives. */
async function readFirstEvent(url: string, headers: Record<string, string> = {}): Promise<string> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal, headers });
  const reader = response.body!.getReader();
  let text = '';
  while (!text.includes('data: ')) text += new TextDecoder().decode((await reader.read()).value);
  while (!text.slice(text.indexOf('data: ')).includes('\n\n'))
    text += new TextDecoder().decode((await reader.read()).value);
  controller.abort();
  return text;
}
