/** The live page in a real chromium: provisioning → ready, a failure, Retry with the token. */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, it } from 'vitest';
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
      const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
      await page.goto(url);
      // With a token configured the page shows nothing until it is given the token.
      await page.locator('#token-box').waitFor({ state: 'visible', timeout: 10_000 });
      await page.fill('#token', TOKEN);
      const [first] = await createTasks(w.db, 1);
      const row = (taskId: string) => page.locator(`tr[data-task-id="${taskId}"]`);
      await row(first!).locator('.spinner').waitFor({ timeout: 10_000 });
      await page.locator(`tr[data-task-id="${first}"][data-status="ready"]`).waitFor({ timeout: 15_000 });

      w.sandbox.faults.set({ p500: 1, createLatency: 0 });
      const [second] = await createTasks(w.db, 1);
      await page.locator(`tr[data-task-id="${second}"][data-status="failed"]`).waitFor({ timeout: 15_000 });
      w.sandbox.faults.set({ p500: 0, createLatency: 300 });
      await row(second!).locator('button.retry').click();
      await page.locator(`tr[data-task-id="${second}"][data-status="ready"]`).waitFor({ timeout: 15_000 });
      await page.screenshot({ path: fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url)) });
    } finally {
      await browser.close();
    }
  });
});
