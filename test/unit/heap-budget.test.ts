/** Which commands run under the heap budget, and from which environment. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CREDENTIAL_VARIABLES, heapBudgetFor } from '../../src/cli/heap-budget.js';
import { readEnv } from '../../src/cli/env.js';
import { SETTINGS } from '../../src/config.js';

const argv = (...args: string[]) => ['node', 'main.js', ...args];
const CREDENTIALS = { INSTANT_APP_ID: 'a', INSTANT_ADMIN_TOKEN: 'b', INSTANT_PLATFORM_TOKEN: 'c' };

describe('heapBudgetFor', () => {
  it('budgets reconcile, and start when it will run reconcile (credentials in the environment or as flags)', () => {
    expect(heapBudgetFor(argv('reconcile'), {})).toBe(96);
    expect(heapBudgetFor(argv('start'), CREDENTIALS)).toBe(96);
    expect(heapBudgetFor(argv('start'), { NEXT_PUBLIC_INSTANT_APP_ID: 'a' })).toBe(96);
    expect(heapBudgetFor(argv('start', '--app-id', 'a'), {})).toBe(96);
    expect(heapBudgetFor(argv('start', '--platform-token=per_x'), {})).toBe(96);
    expect(heapBudgetFor(argv('start', '--app-id', 'a'), { PROVISIONER_MAX_HEAP_MB: '200' })).toBe(200);
  });

  it('leaves the demo, other commands and a turned-off budget in the main thread', () => {
    expect(heapBudgetFor(argv('start'), {})).toBeNull();
    expect(heapBudgetFor(argv('start', '--port', '0'), { INSTANT_APP_ID: '  ' })).toBeNull();
    expect(heapBudgetFor(argv('status'), CREDENTIALS)).toBeNull();
    expect(heapBudgetFor(argv('sandbox'), CREDENTIALS)).toBeNull();
    expect(heapBudgetFor(argv('reconcile'), { PROVISIONER_MAX_HEAP_MB: '0' })).toBeNull();
    expect(heapBudgetFor(argv('start'), { ...CREDENTIALS, PROVISIONER_MAX_HEAP_MB: '0' })).toBeNull();
  });

  it('reads a budget set only in .env, as the command does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'heap-budget-'));
    await writeFile(join(dir, '.env'), 'PROVISIONER_MAX_HEAP_MB=0\nINSTANT_APP_ID=a\n');
    expect(heapBudgetFor(argv('reconcile'), readEnv({}, dir))).toBeNull();
    await writeFile(join(dir, '.env'), 'PROVISIONER_MAX_HEAP_MB=150\nINSTANT_APP_ID=a\n');
    expect(heapBudgetFor(argv('start'), readEnv({}, dir))).toBe(150);
  });

  it('knows every variable start takes for a credential', () => {
    const names = [...SETTINGS.appId.env, ...SETTINGS.adminToken.env, ...SETTINGS.platformToken.env];
    expect([...CREDENTIAL_VARIABLES].sort()).toEqual(names.sort());
  });
});
