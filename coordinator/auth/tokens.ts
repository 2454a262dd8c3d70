/**
 * Bearer tokens and the file that holds them. A token is 32 random bytes (base64url, prefixed
 * `trellis_`); the file keeps only its SHA-256 with a name, a role and the creation time, so a
 * stolen file grants nothing. The file is written 0600, atomically (temp file + rename).
 *
 * `TokenFile` is what the coordinator authenticates against: it re-reads the file whenever its
 * modification time, size or inode changes (checked on each call, one stat), so
 * `trellis token create|revoke` take effect without a restart. A file that becomes unreadable or
 * invalid keeps the last good contents and logs why (never an open door, never a lock-out by typo).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { z } from 'zod';
import { InvalidArgumentError, UnauthenticatedError } from '../../shared/errors.js';
import { ROLES, type Identity, type Role } from './policy.js';

export interface TokenRecord {
  name: string;
  role: Role;
  /** SHA-256 of the token, hex. */
  hash: string;
  /** ms since the epoch. */
  created: number;
  /** Workers: the most CPU slots / GPUs its workers may advertise together (absent: unbounded). */
  maxSlots?: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

const fileSchema = z.object({
  version: z.literal(1),
  tokens: z.array(
    z.object({
      name: z.string().regex(NAME),
      role: z.enum(ROLES),
      hash: z.string().regex(/^[0-9a-f]{64}$/),
      created: z.number(),
      maxSlots: z.number().int().positive().optional(),
    }),
  ),
});

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(): string {
  return `trellis_${randomBytes(32).toString('base64url')}`;
}

export function readTokenFile(path: string): TokenRecord[] {
  if (!existsSync(path)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError([`tokens file ${path}: not valid JSON (${(err as Error).message})`]);
  }
  const result = fileSchema.safeParse(parsed);
  if (!result.success) {
    throw new InvalidArgumentError(
      result.error.issues.map((i) => `tokens file ${path}: ${i.path.join('.') || 'document'}: ${i.message}`),
    );
  }
  return result.data.tokens;
}

function writeTokenFile(path: string, tokens: TokenRecord[]): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify({ version: 1, tokens }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

/** Adds a token; returns the token itself (shown once, never stored). Names are unique. */
export function createToken(path: string, name: string, role: string, maxSlots?: number): string {
  if (!NAME.test(name)) {
    throw new InvalidArgumentError([`--name: must be 1-64 of letters, digits, . _ @ - (got ${JSON.stringify(name)})`]);
  }
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new InvalidArgumentError([`--role: must be one of ${ROLES.join(', ')} (got ${JSON.stringify(role)})`]);
  }
  if (maxSlots !== undefined && !(Number.isSafeInteger(maxSlots) && maxSlots > 0)) {
    throw new InvalidArgumentError([`--max-slots: must be a whole number of 1 or more (got ${maxSlots})`]);
  }
  const tokens = readTokenFile(path);
  if (tokens.some((t) => t.name === name)) {
    throw new InvalidArgumentError([`--name: a token named ${name} already exists in ${path}; revoke it first`]);
  }
  const token = newToken();
  tokens.push({
    name,
    role: role as Role,
    hash: hashToken(token),
    created: Date.now(),
    ...(maxSlots !== undefined ? { maxSlots } : {}),
  });
  writeTokenFile(path, tokens);
  return token;
}

/** Removes the token with this name; false when there was none. */
export function revokeToken(path: string, name: string): boolean {
  const tokens = readTokenFile(path);
  const kept = tokens.filter((t) => t.name !== name);
  if (kept.length === tokens.length) return false;
  writeTokenFile(path, kept);
  return true;
}

/** Who a token belongs to: the coordinator's one question about credentials. */
export interface Authenticator {
  /** The identity of `token`, or UnauthenticatedError (missing or unknown token). */
  authenticate(token: string | undefined): Identity;
}

function lookup(records: readonly TokenRecord[], token: string | undefined): Identity {
  if (!token) {
    throw new UnauthenticatedError(
      'no token: this coordinator requires one (pass --token or set TRELLIS_TOKEN; an admin creates it with `trellis token create`)',
    );
  }
  const hash = Buffer.from(hashToken(token), 'hex');
  // Compare against every record in constant time per record: no early exit on a prefix.
  let found: TokenRecord | undefined;
  for (const record of records) {
    if (timingSafeEqual(hash, Buffer.from(record.hash, 'hex'))) found = record;
  }
  if (!found) throw new UnauthenticatedError('unknown or revoked token');
  return { name: found.name, role: found.role, ...(found.maxSlots !== undefined ? { maxSlots: found.maxSlots } : {}) };
}

/** Tokens held in memory (the embedded `trellis run`'s ephemeral ones). */
export class StaticTokens implements Authenticator {
  private readonly records: TokenRecord[] = [];

  /** Adds a fresh random token for `name`/`role` and returns it. */
  issue(name: string, role: Role, maxSlots?: number): string {
    const token = newToken();
    this.records.push({
      name,
      role,
      hash: hashToken(token),
      created: Date.now(),
      ...(maxSlots !== undefined ? { maxSlots } : {}),
    });
    return token;
  }

  authenticate(token: string | undefined): Identity {
    return lookup(this.records, token);
  }
}

/** The tokens file, re-read when it changes. */
export class TokenFile implements Authenticator {
  private records: TokenRecord[];
  private stamp: string;

  constructor(
    readonly path: string,
    private readonly onReloadError: (err: Error) => void = () => undefined,
  ) {
    if (!existsSync(path)) {
      throw new InvalidArgumentError([
        `--tokens: ${path} does not exist; create it with \`trellis token create --tokens ${path} --name NAME --role admin\``,
      ]);
    }
    this.records = readTokenFile(path);
    this.stamp = this.currentStamp();
  }

  get size(): number {
    return this.records.length;
  }

  private currentStamp(): string {
    try {
      const s = statSync(this.path, { bigint: true });
      return `${s.ino}:${s.size}:${s.mtimeNs}`;
    } catch {
      return 'missing';
    }
  }

  /** Re-reads the file if it changed since the last read. */
  refresh(): void {
    const stamp = this.currentStamp();
    if (stamp === this.stamp) return;
    try {
      this.records = stamp === 'missing' ? [] : readTokenFile(this.path);
      this.stamp = stamp;
    } catch (err) {
      // Keep the last good contents; retry on the next call (the stamp is not advanced).
      this.onReloadError(err as Error);
    }
  }

  authenticate(token: string | undefined): Identity {
    this.refresh();
    return lookup(this.records, token);
  }
}
