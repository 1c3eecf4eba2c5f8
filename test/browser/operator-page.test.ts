/**
 * The operator page of `npm start` in a real Chromium, through the real `@instantdb/react` client in
 * the page: a signed-in user creates a task and sees its database go from provisioning to ready
 * without a reload, and copies its app id; a second user (also while the first keeps creating) and
 * a guest see nothing of it. Ends with the README's screenshot (docs/operator-page.png).
 */
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemo, type RunningDemo } from '../../src/demo/demo.js';
import { createConfiguredLogger } from '../../src/logger.js';
import { launchChromium, noteSkipped, runBrowserTests } from './chromium.js';

noteSkipped('operator page test');

let demo: RunningDemo | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  await demo?.stop();
});

/** A page of its own browser context (InstantDB shares sign-in between tabs of one origin). */
async function openPage(url: string): Promise<Page> {
  const context = await browser!.newContext({ viewport: { width: 1200, height: 760 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  const page = await context.newPage();
  await page.goto(url);
  await page.locator('.task-list[data-loaded]').waitFor({ timeout: 15_000 });
  return page;
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.locator(`button[data-email="${email}"]`).click();
  await page.getByTestId('signed-in-as').filter({ hasText: email }).waitFor({ timeout: 10_000 });
}

/** Creates a task through the form; returns its id, read from its row. */
async function createTask(page: Page, title: string): Promise<string> {
  await page.fill('#new-task-title', title);
  await page.getByRole('button', { name: 'Create task' }).click();
  const row = page.locator('li.task', { has: page.locator('.task-title', { hasText: title }) });
  await row.waitFor({ timeout: 10_000 });
  return (await row.getAttribute('data-task-id'))!;
}

const statusOf = (page: Page, taskId: string, status: string) =>
  page.locator(`li.task[data-task-id="${taskId}"] .ip-database-status[data-status="${status}"]`);

/** Records every data-status each task's DatabaseStatus shows, in order, from now on. */
function recordStatuses(page: Page): Promise<void> {
  return page.evaluate(() => {
    const log: Array<[string, string]> = [];
    const last = new Map<string, string>();
    const look = () => {
      for (const element of document.querySelectorAll<HTMLElement>('li.task .ip-database-status')) {
        const taskId = element.closest<HTMLElement>('li.task')!.dataset.taskId!;
        const status = element.dataset.status!;
        if (last.get(taskId) !== status) log.push([taskId, status]);
        last.set(taskId, status);
      }
    };
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true });
    look();
    Object.assign(window, { statusLog: log, loadedOnce: true });
  });
}

const taskIds = (page: Page) =>
  page.locator('li.task').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.taskId));

describe.skipIf(!runBrowserTests)('operator page', () => {
  it('a user sees their task become ready live; another user and a guest see nothing of it', async () => {
    demo = await startDemo({
      port: 0,
      pagePort: 0,
      // The stand-in browser of a third user makes one task at start; its tasks must stay invisible here too.
      taskEveryMs: 3_600_000,
      env: {},
      flags: { httpPort: '0', logLevel: 'silent' },
      logger: createConfiguredLogger,
    });
    browser = await launchChromium();

    const ada = await openPage(demo.pageUrl);
    await signIn(ada, 'ada@example.com');
    expect(await ada.locator('.task-list').getAttribute('data-count')).toBe('0');
    await recordStatuses(ada);
    // Creates take 1.5 s here, so the page has ample time to show `provisioning` before `ready`.
    demo.sandbox.faults.set({ createLatency: 1_500 });
    const alpha = await createTask(ada, 'Alpha');
    await statusOf(ada, alpha, 'ready').waitFor({ timeout: 15_000 });
    const seen = (await ada.evaluate(() => (window as unknown as { statusLog: string[][] }).statusLog))
      .filter(([taskId]) => taskId === alpha)
      .map(([, status]) => status);
    // Provisioning, then ready, on the page that has been open all along (no reload).
    expect(seen.indexOf('provisioning')).toBeGreaterThanOrEqual(0);
    expect(seen.at(-1)).toBe('ready');
    expect(seen.indexOf('provisioning')).toBeLessThan(seen.indexOf('ready'));
    expect(await ada.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    demo.sandbox.faults.set({ createLatency: 200 });

    // The ready status is a real button: it copies the app id its tooltip shows.
    const status = ada.locator(`li.task[data-task-id="${alpha}"] .ip-database-status`);
    const appId = (await status.locator('.ip-database-status__tooltip-app-id').textContent())!;
    expect(appId).toMatch(/^[0-9a-f-]{36}$/);
    await status.getByRole('button').click();
    await ada.locator(`li.task[data-task-id="${alpha}"] .ip-database-status[data-copied="copied"]`).waitFor();
    expect(await ada.evaluate(() => navigator.clipboard.readText())).toBe(appId);

    // A second user: their own task works, Ada's is not there, and stays away while she creates another.
    const grace = await openPage(demo.pageUrl);
    await signIn(grace, 'grace@example.com');
    const beta = await createTask(grace, 'Beta');
    await statusOf(grace, beta, 'ready').waitFor({ timeout: 15_000 });
    const gamma = await createTask(ada, 'Gamma');
    await statusOf(ada, gamma, 'ready').waitFor({ timeout: 15_000 });
    expect(await taskIds(grace)).toEqual([beta]);
    expect(await grace.locator('.task-list').getAttribute('data-count')).toBe('1');
    expect(await taskIds(ada)).toEqual([gamma, alpha]);

    // A guest, after all of it exists: nothing.
    const guest = await openPage(demo.pageUrl);
    expect(await guest.locator('.task-list').getAttribute('data-count')).toBe('0');
    expect(await taskIds(guest)).toEqual([]);
    await guest.getByText('A guest sees no tasks').waitFor();

    // The README's screenshot: a fork, ready tasks, one still provisioning, a tooltip open.
    await ada.locator(`li.task[data-task-id="${alpha}"]`).getByRole('button', { name: 'Fork Alpha' }).click();
    await ada
      .locator('li.task', { hasText: 'Fork of Alpha' })
      .locator('.ip-database-status[data-status="ready"]')
      .waitFor({ timeout: 15_000 });
    demo.sandbox.faults.set({ createLatency: 4_000 });
    const slow = await createTask(ada, 'Summarise the customer interviews');
    await statusOf(ada, slow, 'provisioning').waitFor({ timeout: 10_000 });
    await ada.locator(`li.task[data-task-id="${gamma}"] .ip-database-status button`).hover();
    await ada.locator(`li.task[data-task-id="${gamma}"] [role="tooltip"]:not([hidden])`).waitFor();
    await ada.screenshot({ path: fileURLToPath(new URL('../../docs/operator-page.png', import.meta.url)) });
    // Let the slow create land before the demo stops (a stopping daemon waits for it anyway).
    await statusOf(ada, slow, 'ready').waitFor({ timeout: 15_000 });
  });
});
