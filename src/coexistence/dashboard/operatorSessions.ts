// Operator logins and their sessions. Operators are the accounts of the project file's
// coexistence.dashboard.operators (a name and a password secret): the dashboard must open
// when a directory is the thing that is down, so it never binds to one. A session is a
// random 256-bit token in an HttpOnly, Secure, SameSite=Strict cookie; the server keeps
// only the token's SHA-256, so a memory dump does not hand out live cookies.
//
// An operator's password secret holds either a scrypt hash made by `crossforest serve
// hash-password` (recommended: a copied file then yields the password only to a scrypt
// brute force) or, for labs, the clear password; see passwordHash.ts.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DashboardConfig } from '../../config/coexistence.ts';
import { describeSecret, resolveSecret } from '../../config/secret.ts';
import { ConfigError } from '../../util/errors.ts';
import { looksLikeHash, type PasswordHash, parsePasswordHash, verifyPassword, wasteVerification } from './passwordHash.ts';

/** `__Host-`: the browser accepts it only Secure, for Path=/, from this very host. */
export const SESSION_COOKIE = '__Host-crossforest-dashboard';
const MAX_SESSIONS = 1_000;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** How an operator's password is kept: a scrypt hash (recommended) or the clear password (labs). */
type Credential = { kind: 'hash'; hash: PasswordHash } | { kind: 'clear'; digest: Buffer };

export class OperatorAccounts {
  readonly #config: DashboardConfig;
  readonly #baseDir: string;

  constructor(config: DashboardConfig, baseDir: string) {
    this.#config = config;
    this.#baseDir = baseDir;
  }

  /**
   * Reads every operator's secret once, before the service takes logins: a missing secret,
   * a hash that cannot be read or a name given twice is a ConfigError naming its key.
   * Returns the names of the operators whose secret is a clear password (worth a warning).
   */
  validate(): string[] {
    const seen = new Set<string>();
    const clear: string[] = [];
    this.#config.operators.forEach((op, i) => {
      if (seen.has(op.name))
        throw new ConfigError(`coexistence.dashboard.operators[${i}].name: operator ${op.name} is listed twice`, {
          object: `coexistence.dashboard.operators[${i}].name`,
          hint: 'give each operator one entry (one name, one password secret)',
        });
      seen.add(op.name);
      if (this.#credential(i).kind === 'clear') clear.push(op.name);
    });
    return clear;
  }

  /**
   * The operator's name when the password is right, else null. The secret is read per login
   * so a changed file counts at once. A hash is verified off the event loop; a name nobody
   * has costs the same scrypt work as a hashed account, so timing does not tell the two apart
   * (a clear secret answers faster: one more reason it is for labs only).
   */
  async check(name: string, password: string): Promise<string | null> {
    const i = this.#config.operators.findIndex((op) => op.name === name);
    if (i < 0 || password === '') return wasteVerification(password).then(() => null);
    const cred = this.#credential(i);
    const ok = cred.kind === 'hash' ? await verifyPassword(password, cred.hash) : timingSafeEqual(cred.digest, digest(password));
    return ok ? name : null;
  }

  #credential(i: number): Credential {
    const op = this.#config.operators[i] as DashboardConfig['operators'][number];
    const key = `coexistence.dashboard.operators[${i}].password`;
    const value = resolveSecret(op.password, this.#baseDir, key);
    if (!looksLikeHash(value)) return { kind: 'clear', digest: digest(value) };
    try {
      return { kind: 'hash', hash: parsePasswordHash(value) };
    } catch (err) {
      // The reason says what is wrong with the string, never the string itself.
      throw new ConfigError(
        `${key}: the ${describeSecret(op.password)} of operator ${op.name} holds a password hash that cannot be used: ${(err as Error).message}`,
        {
          object: key,
          hint: 'put the line printed by `crossforest serve hash-password` ($scrypt$N=…,r=…,p=…$salt$hash) on its first line; a clear password (labs only) must not start with $word$',
        },
      );
    }
  }
}

interface Session {
  operator: string;
  expiresAt: number;
}

export class OperatorSessions {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #sessions = new Map<string, Session>();

  constructor(ttlMinutes: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMinutes * 60_000;
    this.#now = now;
  }

  get ttlSeconds(): number {
    return Math.floor(this.#ttlMs / 1000);
  }

  /** A new session's token (goes into the cookie, never stored). */
  open(operator: string): string {
    const token = randomBytes(32).toString('base64url');
    this.#prune();
    if (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    this.#sessions.set(digest(token).toString('hex'), { operator, expiresAt: this.#now() + this.#ttlMs });
    return token;
  }

  /** The operator of a live session, or null. */
  operatorOf(token: string | undefined): string | null {
    if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const key = digest(token).toString('hex');
    const s = this.#sessions.get(key);
    if (!s) return null;
    if (s.expiresAt <= this.#now()) {
      this.#sessions.delete(key);
      return null;
    }
    return s.operator;
  }

  close(token: string | undefined): void {
    if (token) this.#sessions.delete(digest(token).toString('hex'));
  }

  #prune(): void {
    const now = this.#now();
    for (const [k, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(k);
  }
}

/** The value of one cookie from a Cookie header (the first of that name). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(token: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;
}
