/** The HTTP server's one credential check: `Authorization: Bearer <token>`, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';

export type AuthOutcome = 'allowed' | 'no-token-configured' | 'missing-or-wrong';

export function checkBearer(configured: string | undefined, header: string | undefined): AuthOutcome {
  if (configured === undefined) return 'no-token-configured';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return 'missing-or-wrong';
  // Digests have one length, so the comparison leaks neither the token nor its length.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]!), digest(configured)) ? 'allowed' : 'missing-or-wrong';
}
