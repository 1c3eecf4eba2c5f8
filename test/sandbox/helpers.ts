/** Shared setup for sandbox tests: a sandbox on port 0, the project schema, the real admin SDK. */
import { init } from '@instantdb/admin';
import schema from '../../instant.schema.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';

export { schema };

/** A sandbox with one app using the project schema, and an admin SDK bound to it. */
export async function sandboxWithApp(opts: SandboxOptions = {}) {
  const sandbox = await startSandbox({ seed: 1, ...opts });
  const app = sandbox.createApp({ title: 'main', schema });
  const db = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url, schema });
  return { sandbox, app, db };
}

/** POSTs JSON with the admin headers the SDK would send. */
export async function adminPost(sandbox: Sandbox, path: string, appId: string, token: string, body: unknown) {
  const res = await fetch(`${sandbox.url}${path}?app_id=${appId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'app-id': appId, authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** Resolves with the rejection of `promise` (fails if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** A clock that advances 1 ms per reading, so every entity gets its own serverCreatedAt. */
export function stepClock(start = Date.UTC(2025, 0, 1)): { now(): number } {
  let t = start;
  return { now: () => ++t };
}
