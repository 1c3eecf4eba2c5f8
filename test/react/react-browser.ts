/**
 * React in Node for the kit's tests: happy-dom's document (the test file's vitest environment), the
 * real `@instantdb/react` client pointed at a sandbox with what simulated-browser.ts stubs (the `ws`
 * WebSocket, in-memory storage per client, no BroadcastChannel, a distinct dedupe key), and a way
 * to wait for the DOM to show something: a MutationObserver, never a timer.
 */
import { init, type InstantReactWebDatabase } from '@instantdb/react';
import type { ReactElement } from 'react';
import { createRoot } from 'react-dom/client';
import type schema from '../../instant.schema.js';
import { installBrowserGlobals, MemoryStore } from '../sandbox/simulated-browser.js';

let clients = 0;

/** A new `@instantdb/react` client of `appId`, as one browser would have it. */
export function openReactClient(
  sandbox: { readonly url: string; readonly websocketURI: string },
  appId: string,
  appSchema: typeof schema,
): InstantReactWebDatabase<typeof schema> {
  installBrowserGlobals();
  // Updates arrive from the socket, outside act(): tell React this is not an act() environment.
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;
  const config = {
    appId,
    schema: appSchema,
    apiURI: sandbox.url,
    websocketURI: sandbox.websocketURI,
    devtool: false,
    Store: MemoryStore,
    __extraDedupeKey: `react-client-${++clients}`,
  };
  return init(config as Parameters<typeof init<typeof schema>>[0]) as never;
}

/** A mounted element: its container, and how to unmount it. */
export interface Mounted {
  readonly container: HTMLElement;
  unmount(): void;
}

/** Renders `element` into a fresh container in the document. */
export function render(element: ReactElement): Mounted {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  root.render(element);
  return {
    container,
    unmount() {
      root.unmount();
      container.remove();
    },
  };
}

/**
 * Resolves with the first value of `look` that is not undefined, null or false, checked now and
 * after every change to `container`'s subtree; rejects naming `what` and the DOM after `timeoutMs`.
 */
export function waitForDom<T>(
  container: HTMLElement,
  what: string,
  look: () => T | undefined | null | false,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = look();
      if (found === undefined || found === null || found === false) return false;
      observer.disconnect();
      clearTimeout(timer);
      resolve(found);
      return true;
    };
    const observer = new MutationObserver(() => void check());
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`timed out waiting for ${what}; the DOM: ${container.innerHTML}`));
    }, timeoutMs);
    observer.observe(container, { subtree: true, childList: true, attributes: true, characterData: true });
    check();
  });
}
