/**
 * Attempt tokens (like Temporal's task tokens): 32 random bytes handed to the worker in the
 * attempt's assignment and shown back with every message and artifact call about the attempt.
 * The coordinator keeps only the SHA-256 (in the lease, and on the stored attempt so a restarted
 * coordinator still knows it); attempt ids are predictable, tokens are not.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function newAttemptToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashAttemptToken(token) };
}

export function hashAttemptToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented token with a stored hash ('' never matches). */
export function attemptTokenMatches(token: string | undefined, hash: string): boolean {
  if (!token || !/^[0-9a-f]{64}$/.test(hash)) return false;
  return timingSafeEqual(Buffer.from(hashAttemptToken(token), 'hex'), Buffer.from(hash, 'hex'));
}
