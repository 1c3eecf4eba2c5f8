#!/usr/bin/env node
/**
 * The `instant-provisioner` entry point. `reconcile` and `backup` run in a heap-budgeted worker thread
 * (see heap-budget.ts); everything else, and the worker itself, runs the command line here.
 * Only the launcher is loaded before that choice, so the main thread stays small.
 */
import { readEnv } from './env.js';
import { adoptWorkerProcess, heapBudgetFor, runInHeapBudget } from './heap-budget.js';

// The environment the command will read: a budget set only in .env counts.
const budgetMb = heapBudgetFor(process.argv, readEnv());
let code: number;
if (budgetMb === null) {
  adoptWorkerProcess();
  const { runCli } = await import('./program.js');
  code = await runCli(process.argv);
} else {
  code = await runInHeapBudget(new URL(import.meta.url), budgetMb);
}
// Open sockets (SDK keep-alive, SSE) must not keep a finished command alive.
process.exit(code);
