/**
 * Reads a template file: JSON, or a TypeScript/JavaScript module whose default
 * export is what `instant-cli` would push. TypeScript is compiled on the fly
 * (jiti), so a template can import `i` from `@instantdb/admin` as
 * `instant.schema.ts` does.
 */
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const MODULE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

/** Thrown with one line naming the file and what is wrong with it. */
export class TemplateError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`template ${file}: ${problem}`);
    this.name = 'TemplateError';
  }
}

/** The file's content as plain JSON data (what a push would send). */
export async function readTemplateFile(file: string): Promise<unknown> {
  const path = resolve(file);
  const extension = extname(path).toLowerCase();
  if (extension === '.json') {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new TemplateError(file, describeReadError(error));
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new TemplateError(file, `is not valid JSON (${(error as Error).message})`);
    }
  }
  if (!MODULE_EXTENSIONS.has(extension)) {
    throw new TemplateError(file, 'must be a .json file or a .ts/.js module with a default export');
  }
  let exported: unknown;
  try {
    await readFile(path); // a missing file reads better as such than as a failed import
    const { createJiti } = await import('jiti'); // only for a module template: ~30 ms to load
    const jiti = createJiti(pathToFileURL(path).href, { moduleCache: false, fsCache: false });
    const namespace = await jiti.import<Record<string, unknown>>(path);
    // jiti hands back the namespace itself as `default` when there is none; only an own key is one.
    exported = Object.keys(namespace).includes('default') ? namespace['default'] : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new TemplateError(file, describeReadError(error));
    throw new TemplateError(file, `could not be loaded (${firstLine(error)})`);
  }
  if (exported === undefined || exported === null) throw new TemplateError(file, 'has no default export');
  try {
    // What the push sends: the value as JSON.stringify writes it.
    return JSON.parse(JSON.stringify(exported)) as unknown;
  } catch (error) {
    throw new TemplateError(file, `default export cannot be sent as JSON (${firstLine(error)})`);
  }
}

function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES') return 'cannot be read (permission denied)';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return `cannot be read (${firstLine(error)})`;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.slice(0, 300);
}
