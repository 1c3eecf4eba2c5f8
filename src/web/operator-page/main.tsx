/**
 * The operator page's entry (bundled by scripts/build-web.ts into dist/web/operator-page.js): reads
 * where the main app is from the demo server, opens the real `@instantdb/react` client on it and
 * renders the page.
 */
import { init } from '@instantdb/react';
import { createRoot } from 'react-dom/client';
import schema from '../../../instant.schema.js';
import '../../react/styles.css';
import { App } from './app.js';
import type { OperatorPageConfig } from './page-config.js';
import './page.css';

async function start(): Promise<void> {
  const root = createRoot(document.getElementById('root')!);
  let config: OperatorPageConfig;
  try {
    const answer = await fetch('/config.json', { cache: 'no-store' });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    config = (await answer.json()) as OperatorPageConfig;
  } catch (error) {
    root.render(<p className="page-error">Could not read the demo's settings (/config.json): {String(error)}</p>);
    return;
  }
  const db = init({ appId: config.appId, schema, apiURI: config.apiURI, websocketURI: config.websocketURI });
  root.render(<App db={db} config={config} />);
}

void start();
