/**
 * The browser-eye probes in a real page (bundled by browser-eye.test.ts with esbuild): the real
 * `@instantdb/react` client, made without a schema as an attacker's would be, signed in as the row's
 * user, runs that user's rows of test/browser-eye/probes.ts against the world the test made.
 */
import { id, init } from '@instantdb/react';
import { PROBES, type Observation, type ProbeDb, type Who } from '../browser-eye/probes.js';
import type { World } from '../browser-eye/world.js';

/** What the page needs: where the main app is, the world, and who it is. */
export interface EyeRequest {
  readonly appId: string;
  readonly apiURI: string;
  readonly websocketURI: string;
  readonly world: World;
  readonly who: Who;
}

/** One row as the page ran it: what it expected, and what it saw. */
export interface EyeRow {
  readonly who: Who;
  readonly what: string;
  readonly expected: string;
  readonly outcome: Observation['outcome'];
  readonly saw: string;
}

declare global {
  interface Window {
    runBrowserEye(request: EyeRequest): Promise<EyeRow[]>;
  }
}

window.runBrowserEye = async ({ appId, apiURI, websocketURI, world, who }) => {
  const db = init({ appId, apiURI, websocketURI, devtool: false });
  const token = who === 'user A' ? world.tokens.a : who === 'user B' ? world.tokens.b : null;
  if (token) await db.auth.signInWithToken(token);
  // A write sent before the session is open would only be queued: wait for it.
  await new Promise<void>((resolve) => {
    const stop = db.core.subscribeConnectionStatus((status) => {
      if (status !== 'authenticated') return;
      queueMicrotask(() => stop());
      resolve();
    });
  });
  const user = await db.getAuth();
  const expectedUser = token ? (who === 'user A' ? world.users.a : world.users.b) : null;
  if ((user?.id ?? null) !== expectedUser) throw new Error(`signed in as ${user?.id ?? 'a guest'}, not as ${who}`);
  const rows: EyeRow[] = [];
  for (const probe of PROBES.filter((p) => p.who === who)) {
    let seen: Observation;
    try {
      seen = await probe.run({ db: db as unknown as ProbeDb, world, newId: id });
    } catch (error) {
      seen = { outcome: 'inconclusive', saw: `threw: ${error instanceof Error ? error.message : String(error)}` };
    }
    rows.push({ who, what: probe.what, expected: probe.expected, outcome: seen.outcome, saw: seen.saw });
  }
  return rows;
};
