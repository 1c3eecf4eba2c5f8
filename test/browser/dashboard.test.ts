/**
 * The live page in a real chromium: empty states that say what is empty, provisioning → ready with
 * each row's age and time to ready, the chart's axes and units, a failure with its error in full,
 * Retry with the token.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTasks, spawnDaemon, world, type RunningDaemon, type World } from '../e2e/helpers.js';
import { launchChromium, noteSkipped, runBrowserTests } from './chromium.js';

const TOKEN = 'dashboard-test-token-0123456789';
noteSkipped('dashboard test');

let w: World | undefined;
let daemon: RunningDaemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  await w?.close();
});

describe.skipIf(!runBrowserTests)('dashboard', () => {
  it('shows a task provisioning then ready, a failed one, and retries it with the token', async () => {
    w = await world({ faults: { createLatency: 1_500 } });
    daemon = spawnDaemon(['reconcile', '--http-port', '0', '--max-attempts', '1'], {
      ...w.env,
      PROVISIONER_HTTP_TOKEN: TOKEN,
    });
    const { url } = (await daemon.waitFor('http server listening')) as { url: string };
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
      await page.goto(url);
      // With a token configured the page shows nothing until it is given the token.
      await page.locator('#token-box').waitFor({ state: 'visible', timeout: 10_000 });
      await page.fill('#token', TOKEN);
      // Before any task: each empty part says what is empty.
      await page.getByText('No databases yet: the daemon has not claimed any task.').waitFor({ timeout: 10_000 });
      await page.getByText('No detached or retained databases').waitFor();
      await page.locator('#chart .chart-empty').waitFor();

      const [first] = await createTasks(w.db, 1);
      const row = (taskId: string) => page.locator(`tr[data-task-id="${taskId}"]`);
      await row(first!).locator('.spinner').waitFor({ timeout: 10_000 });
      expect(await row(first!).locator('td.time-to-ready').textContent()).toBe('not yet');
      await page.locator(`tr[data-task-id="${first}"][data-status="ready"]`).waitFor({ timeout: 15_000 });
      // Its age and its time to ready (the create alone takes 1.5 s here), in units.
      expect(await row(first!).locator('td.age').textContent()).toMatch(/^\d+(\.\d)? s$|^\d+ ms$/);
      expect(await row(first!).locator('td.time-to-ready').textContent()).toMatch(/^\d+(\.\d)? s$/);
      // The chart names its axes and units, and has a bar for the ready database.
      await page.locator('#chart rect.bar').first().waitFor();
      const chartText = await page.locator('#chart').textContent();
      for (const label of [
        'databases ready per 10 s',
        'mean time to link',
        'now',
        '−10 min',
        'time (minutes before now',
      ])
        expect(chartText).toContain(label);

      w.sandbox.faults.set({ p500: 1, createLatency: 0 });
      const [second] = await createTasks(w.db, 1);
      await page.locator(`tr[data-task-id="${second}"][data-status="failed"]`).waitFor({ timeout: 15_000 });
      // The error in full: what the record says, character for character.
      const status = (await (
        await fetch(`${url}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).json()) as { newest: Array<{ taskId: string; error: string | null }> };
      const error = status.newest.find((r) => r.taskId === second)!.error!;
      expect(error.length).toBeGreaterThan(20);
      const errorRow = row(second!).locator('xpath=following-sibling::tr[1]');
      expect(await errorRow.locator('.error-text').textContent()).toBe(error);
      // The README's screenshot: ready rows, the failed one with its error and Retry.
      await page.screenshot({
        path: fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url)),
        fullPage: true,
      });
      w.sandbox.faults.set({ p500: 0, createLatency: 300 });
      await row(second!).locator('button.retry').click();
      await page.locator(`tr[data-task-id="${second}"][data-status="ready"]`).waitFor({ timeout: 15_000 });
    } finally {
      await browser.close();
    }
  });
});
