/** `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds): how the InstantDB server prints times such as `created_at`. */
export function instantTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
