/**
 * The second half of `npm run build`: what tsc does not make. The operator page
 * (src/web/operator-page) is bundled with esbuild into dist/web/ (one script and one stylesheet,
 * React in production mode), and the React kit's stylesheet is copied next to its compiled module
 * (dist/src/react/styles.css), which the package exports as `instant-provisioner/react/styles.css`.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The repository root, from dist/scripts/ (built) or scripts/ (run from source). */
const root = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join('dist', 'scripts')}`) ? join(here, '..', '..') : join(here, '..');
})();

await build({
  absWorkingDir: root,
  entryPoints: { 'operator-page': 'src/web/operator-page/main.tsx' },
  outdir: 'dist/web',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  jsx: 'automatic',
  minify: true,
  sourcemap: true,
  define: { 'process.env.NODE_ENV': '"production"' },
  // instant.schema.ts takes `i` from @instantdb/admin (the daemon's SDK); in a browser the same
  // schema builder comes from @instantdb/react, so the page does not bundle the admin SDK.
  alias: { '@instantdb/admin': '@instantdb/react' },
  logLevel: 'warning',
});

mkdirSync(join(root, 'dist', 'src', 'react'), { recursive: true });
copyFileSync(join(root, 'src', 'react', 'styles.css'), join(root, 'dist', 'src', 'react', 'styles.css'));
