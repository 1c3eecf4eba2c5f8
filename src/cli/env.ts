/** The environment a command sees: process.env over the working directory's .env, if any. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import type { Env } from '../config.js';

export function readEnv(processEnv: Env = process.env, cwd = process.cwd()): Env {
  const file = join(cwd, '.env');
  if (!existsSync(file)) return { ...processEnv };
  // Variables already set win over the file, as with dotenv.
  return { ...parseEnv(readFileSync(file, 'utf8')), ...processEnv };
}
