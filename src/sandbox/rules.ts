/**
 * The checks the real server runs on an app's rules before storing them, at create and at perms
 * push: shared with the daemon's template check, see src/instant-rules.ts.
 */
export { rulesValidationErrors } from '../instant-rules.js';
