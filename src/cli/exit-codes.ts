/** Exit codes of every command. */
export const EXIT = {
  ok: 0,
  /** `reconcile --once`: some task ended failed. */
  someFailed: 1,
  /** Bad or missing configuration, a rejected credential at start, or bad usage. */
  config: 2,
  /** `reconcile --once`: stopped early by a global condition (rejected token, app creation disabled). */
  aborted: 3,
  /** `reconcile --once` stopped by SIGINT/SIGTERM before it was done (128 + SIGINT). */
  interrupted: 130,
} as const;
