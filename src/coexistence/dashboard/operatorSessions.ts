// Operator logins and their sessions. Operators are the accounts of the project file's
// coexistence.dashboard.operators (a name and a password secret): the dashboard must open
// when a directory is the thing that is down, so it never binds to one. A session is a
// random 256-bit token in an HttpOnly, Secure, SameSite=Strict cookie; the server keeps
// only the token's SHA-256, so a memory dump does not hand out live cookies.
//
// An operator's password secret holds either a scrypt hash made by `crossforest serve
// hash-password` (recommended: a copied file then yields the password only to a scrypt
// brute force) or, for labs, the clear password; see passwordHash.ts.
import { createHash, randomBytes } from 'node:crypto';
import { SecretAccounts } from '../../config/accounts.ts';
import type { DashboardConfig } from '../../config/coexistence.ts';

/** `__Host-`: the browser accepts it only Secure, for Path=/, from this very host. */
export const SESSION_COOKIE = '__Host-crossforest-dashboard';
const MAX_SESSIONS = 1_000;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The dashboard's operators: accounts of the project file (src/config/accounts.ts). */
export class OperatorAccounts extends SecretAccounts {
  constructor(config: DashboardConfig, baseDir: string) {
    super(config.operators, 'coexistence.dashboard.operators', baseDir, 'operator');
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
