/**
 * Debian's Chromium through playwright-core, for the browser tests: where it is, whether the tests
 * run (skipped locally without it, required under CI=1), and a headless launch.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumPresent = existsSync(CHROMIUM);
/** Whether the browser tests run: with a Chromium, or under CI (where its absence fails them). */
export const runBrowserTests = chromiumPresent || !!process.env.CI;

/** A headless Chromium; fails naming the path when there is none. */
export async function launchChromium(): Promise<Browser> {
  if (!chromiumPresent) throw new Error(`chromium is required in CI (looked at ${CHROMIUM}; set CHROMIUM_PATH)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--headless=new'] });
}

/** Logs why the browser tests of `file` do not run, when they do not. */
export function noteSkipped(file: string): void {
  if (!runBrowserTests) console.warn(`${file} skipped: no chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
}
