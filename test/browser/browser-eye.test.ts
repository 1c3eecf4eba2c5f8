/**
 * The browser-eye table in a real Chromium, through the real `@instantdb/react` client in the page:
 * the rows of test/browser-eye/probes.ts, each user in a browser context of its own (InstantDB shares
 * sign-in between tabs of one origin), against data the admin SDK made first and that is checked to
 * exist (test/browser-eye/world.ts), so that no row can pass on empty data. Each row reports what it
 * expected and what it saw. The Node test (test/sandbox/browser-eye.test.ts) runs the same rows.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { id, init as adminInit } from '@instantdb/admin';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import perms from '../../instant.perms.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { PROBES, type Who } from '../browser-eye/probes.js';
import { buildWorld, checkWorld } from '../browser-eye/world.js';
import { schema } from '../sandbox/helpers.js';
import { launchChromium, noteSkipped, runBrowserTests } from './chromium.js';
import type { EyeRequest, EyeRow } from './eye-page.js';

noteSkipped('browser-eye (Chromium) test');

let sandbox: Sandbox | undefined;
let server: Server | undefined;
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await sandbox?.close();
});

/** Serves a blank page and the probes' bundle, from an origin other than the sandbox's. */
async function servePage(): Promise<string> {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('./eye-page.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  const script = bundle.outputFiles[0]!.contents;
  server = createServer((request, response) => {
    if (request.url === '/eye.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' });
      return void response.end(script);
    }
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>browser-eye</title><script type="module" src="/eye.js"></script>');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe.skipIf(!runBrowserTests)('browser-eye in Chromium', () => {
  it('through @instantdb/react in a page, every row sees what it expects', async () => {
    sandbox = await startSandbox({ seed: 7 });
    const app = sandbox.createApp({ title: 'main', schema, perms });
    const admin = adminInit({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url, schema });
    const world = await buildWorld(admin as never, id);
    await checkWorld(admin as never, world);
    const url = await servePage();
    browser = await launchChromium();

    const rows: EyeRow[] = [];
    for (const who of ['guest', 'user A', 'user B'] as const satisfies readonly Who[]) {
      const page = await (await browser.newContext()).newPage();
      await page.goto(url);
      await page.waitForFunction(() => typeof window.runBrowserEye === 'function');
      const request: EyeRequest = {
        appId: app.id,
        apiURI: sandbox.url,
        websocketURI: sandbox.websocketURI,
        world,
        who,
      };
      rows.push(...(await page.evaluate((r) => window.runBrowserEye(r), request)));
    }

    process.stdout.write(
      `\n| who | action | expected | saw |\n|---|---|---|---|\n` +
        rows.map((r) => `| ${r.who} | ${r.what} | ${r.expected} | ${r.outcome}: ${r.saw} |`).join('\n') +
        '\n',
    );
    // Every row ran, in the table's order, and saw what it expected.
    expect(rows.map((r) => `${r.who} | ${r.what}`)).toEqual(PROBES.map((p) => `${p.who} | ${p.what}`));
    expect(rows.map((r) => `${r.who} | ${r.what} | ${r.outcome}`)).toEqual(
      PROBES.map((p) => `${p.who} | ${p.what} | ${p.expected}`),
    );
  });
});
