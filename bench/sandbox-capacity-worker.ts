/**
 * Worker-thread entry of the capacity benchmark: a sandbox with one app on the project schema,
 * on its own thread so the SDK client driving the load does not share its event loop.
 * Posts `{ url, platformToken, app }` once listening; answers `'elu'` with its event-loop
 * utilization; closes on `'close'`.
 */
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import schema from '../instant.schema.js';
import { startSandbox } from '../src/sandbox/index.js';

const port = parentPort!;
const sandbox = await startSandbox({ seed: 1 });
const app = sandbox.createApp({ title: 'capacity', schema });
port.postMessage({ url: sandbox.url, platformToken: sandbox.platformToken, app });
port.on('message', (message) => {
  if (message === 'elu') port.postMessage(performance.eventLoopUtilization());
  if (message === 'close') void sandbox.close().then(() => port.close());
});
