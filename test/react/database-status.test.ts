// @vitest-environment happy-dom
// The admin SDK (the daemon's side) fetches the sandbox too: no same-origin policy for it.
// @vitest-environment-options {"settings": {"fetch": {"disableSameOriginPolicy": true}}}
/**
 * <DatabaseStatus> through the real `@instantdb/react` client against the sandbox: the spinner
 * while provisioning, the ready button (tooltip on focus, Escape, click to copy), the failed state
 * whose "Try again" writes the owner's retry request, a refused request shown, the refused state,
 * the live region's announcements, and no styles of its own.
 */
import { id } from '@instantdb/admin';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DatabaseStatus, type DatabaseStatusProps } from '../../src/react/index.js';
import { schema } from '../sandbox/helpers.js';
import { startKitWorld, type KitWorld } from './kit-world.js';
import { render, waitForDom, type Mounted } from './react-browser.js';

let world: KitWorld;
const mounted: Mounted[] = [];
let writeText: ReturnType<typeof vi.fn>;

beforeEach(async () => {
  world = await startKitWorld(41);
  writeText = vi.fn(async (_text: string) => {});
  Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
});

afterEach(async () => {
  for (const m of mounted.splice(0)) m.unmount();
  await world.close();
});

type Props = DatabaseStatusProps<typeof schema>;

function mount(props: Props): { root: () => HTMLElement; m: Mounted } {
  const m = render(createElement(DatabaseStatus<typeof schema>, props));
  mounted.push(m);
  return { m, root: () => m.container.querySelector<HTMLElement>('.ip-database-status')! };
}

/** Waits for the root's data-status to be `status`. */
function statusIs(m: Mounted, status: string): Promise<HTMLElement> {
  return waitForDom(m.container, `data-status="${status}"`, () =>
    m.container.querySelector<HTMLElement>(`.ip-database-status[data-status="${status}"]`),
  );
}

const announced = (m: Mounted) => m.container.querySelector('[aria-live="polite"]')!.textContent;

describe('DatabaseStatus', () => {
  it('spins while provisioning, then copies the app id from a real button with a tooltip', async () => {
    const { db, userId } = await world.signedIn('owner@example.com');
    const task = await world.createTask(userId);
    const record = await world.claim(task, 'swift-blue-otter');
    const { m, root } = mount({ db, taskId: task, className: 'in-status-bar' });

    await statusIs(m, 'provisioning');
    expect(root().querySelector('.ip-database-status__spinner')).not.toBeNull();
    expect(root().getAttribute('aria-busy')).toBe('true');
    expect(root().className).toBe('ip-database-status in-status-bar');
    expect(announced(m)).toBe('Provisioning database swift-blue-otter');
    expect(root().querySelector('button')).toBeNull();

    const appId = id();
    await world.daemonWrite(record, { status: 'ready', instantAppId: appId, readyAt: Date.now() });
    await statusIs(m, 'ready');
    expect(root().querySelector('.ip-database-status__spinner')).toBeNull();
    expect(announced(m)).toBe('Database swift-blue-otter is ready');
    const button = root().querySelector<HTMLButtonElement>('button.ip-database-status__copy')!;
    expect(button.type).toBe('button');
    const tooltip = root().querySelector<HTMLElement>('[role="tooltip"]')!;
    expect(button.getAttribute('aria-describedby')).toBe(tooltip.id);
    expect(tooltip.textContent).toContain('swift-blue-otter');
    expect(tooltip.textContent).toContain(appId);
    expect(tooltip.hidden).toBe(true);

    // Keyboard: focus shows the tooltip, Escape hides it.
    button.focus();
    await waitForDom(m.container, 'the tooltip to show on focus', () => !tooltip.hidden);
    button.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    await waitForDom(m.container, 'Escape to hide the tooltip', () => tooltip.hidden);

    button.click();
    await waitForDom(m.container, 'data-copied', () => root().dataset.copied === 'copied');
    expect(writeText).toHaveBeenCalledWith(appId);
    expect(announced(m)).toBe(`App id ${appId} copied`);
    expect(tooltip.textContent).toContain('Copied');
  });

  it("failed: shows the error in full, and Try again writes the owner's retry request", async () => {
    const { db, userId } = await world.signedIn('owner@example.com');
    const task = await world.createTask(userId);
    const record = await world.claim(task, 'brave-red-fox');
    const error = 'create refused: 400 validation-failed: the template rule "view" does not compile: auht.id';
    await world.daemonWrite(record, { status: 'failed', error });
    const { m, root } = mount({ db, taskId: task });

    await statusIs(m, 'failed');
    expect(root().querySelector('.ip-database-status__error')!.textContent).toBe(error);
    expect(announced(m)).toBe(`Database brave-red-fox failed: ${error}`);
    const retry = root().querySelector<HTMLButtonElement>('button.ip-database-status__retry')!;
    expect(retry.textContent).toBe('Try again');

    const before = Date.now();
    retry.click();
    await waitForDom(m.container, 'the retry request to be confirmed', () => root().dataset.retry === 'sent');
    expect(retry.disabled).toBe(true);
    expect(retry.textContent).toBe('Retry requested');
    const { tasks } = await world.admin.query({ tasks: { $: { where: { id: task } } } });
    expect(new Date(tasks[0]!.databaseRetryRequestedAt as never).getTime()).toBeGreaterThanOrEqual(before);

    // The daemon honours it: provisioning again ends the request.
    await world.daemonWrite(record, { status: 'provisioning', error: null });
    await statusIs(m, 'provisioning');
    expect(root().dataset.retry).toBeUndefined();
  });

  it('a refused retry request is shown, and the button works again', async () => {
    const { db, userId } = await world.signedIn('owner@example.com');
    const task = await world.createTask(userId);
    const record = await world.claim(task, 'calm-grey-owl');
    await world.daemonWrite(record, { status: 'failed', error: 'boom' });
    const refusing = {
      useQuery: db.useQuery,
      tx: db.tx,
      transact: () => Promise.reject(new Error('Permission denied: not perms-pass?')),
    } as unknown as Props['db'];
    const { m, root } = mount({ db: refusing, taskId: task });
    await statusIs(m, 'failed');
    root().querySelector<HTMLButtonElement>('button.ip-database-status__retry')!.click();
    await waitForDom(m.container, 'the refusal', () => root().dataset.retry === 'refused');
    expect(root().querySelector('.ip-database-status__retry-error')!.textContent).toContain(
      'Permission denied: not perms-pass?',
    );
    expect(root().querySelector<HTMLButtonElement>('button.ip-database-status__retry')!.disabled).toBe(false);
  });

  it('refused: the error and no retry button', async () => {
    const { db, userId } = await world.signedIn('owner@example.com');
    const task = await world.createTask(userId);
    const record = await world.claim(task, 'tall-blue-pine');
    await world.daemonWrite(record, { status: 'refused', error: 'the owner has 10 databases' });
    const { m, root } = mount({ db, taskId: task });
    await statusIs(m, 'refused');
    expect(root().querySelector('.ip-database-status__error')!.textContent).toBe('the owner has 10 databases');
    expect(root().querySelector('button')).toBeNull();
    expect(announced(m)).toBe('Database refused: the owner has 10 databases');
  });

  it('is unstyled: the only inline style hides the announcements from view', async () => {
    const { db, userId } = await world.signedIn('owner@example.com');
    const task = await world.createTask(userId);
    const record = await world.claim(task, 'warm-gold-bee');
    await world.daemonWrite(record, { status: 'ready', instantAppId: id() });
    const { m } = mount({ db, taskId: task });
    await statusIs(m, 'ready');
    const styled = [...m.container.querySelectorAll('[style]')];
    expect(styled.map((element) => element.className)).toEqual(['ip-database-status__announce']);
  });
});
