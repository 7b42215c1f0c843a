// Accounts of the project file: a login name and a password secret (a scrypt hash made by
// `crossforest serve hash-password`, recommended, or for labs the clear password). Dashboard
// operators (coexistence.dashboard.operators) and the relay's SMTP AUTH accounts
// (transport.listeners[].clients.accounts) are both checked here, one way.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../util/errors.ts';
import { looksLikeHash, type PasswordHash, parsePasswordHash, verifyPassword, wasteVerification } from '../util/passwordHash.ts';
import { describeSecret, resolveSecret, type SecretRef } from './secret.ts';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** How a password is kept: a scrypt hash (recommended) or the clear password (labs). */
type Credential = { kind: 'hash'; hash: PasswordHash } | { kind: 'clear'; digest: Buffer };

export interface SecretAccount {
  name: string;
  password: SecretRef;
}

export class SecretAccounts {
  readonly #accounts: readonly SecretAccount[];
  readonly #keyPath: string;
  readonly #baseDir: string;
  readonly #what: string;

  /** `keyPath`: where the list is in the project file (`coexistence.dashboard.operators`); `what`: one account in words ("operator"). */
  constructor(accounts: readonly SecretAccount[], keyPath: string, baseDir: string, what: string) {
    this.#accounts = accounts;
    this.#keyPath = keyPath;
    this.#baseDir = baseDir;
    this.#what = what;
  }

  /**
   * Reads every account's secret once, before logins are taken: a missing secret, a hash
   * that cannot be read or a name given twice is a ConfigError naming its key. Returns the
   * names of the accounts whose secret is a clear password (worth a warning).
   */
  validate(): string[] {
    const seen = new Set<string>();
    const clear: string[] = [];
    this.#accounts.forEach((a, i) => {
      if (seen.has(a.name))
        throw new ConfigError(`${this.#keyPath}[${i}].name: ${this.#what} ${a.name} is listed twice`, {
          object: `${this.#keyPath}[${i}].name`,
          hint: `give each ${this.#what} one entry (one name, one password secret)`,
        });
      seen.add(a.name);
      if (this.#credential(i).kind === 'clear') clear.push(a.name);
    });
    return clear;
  }

  /**
   * The account's name when the password is right, else null. The secret is read per login
   * so a changed file counts at once. A hash is verified off the event loop; a name nobody
   * has costs the same scrypt work as a hashed account, so timing does not tell the two apart
   * (a clear secret answers faster: one more reason it is for labs only).
   */
  async check(name: string, password: string): Promise<string | null> {
    const i = this.#accounts.findIndex((a) => a.name === name);
    if (i < 0 || password === '') return wasteVerification(password).then(() => null);
    const cred = this.#credential(i);
    const ok = cred.kind === 'hash' ? await verifyPassword(password, cred.hash) : timingSafeEqual(cred.digest, digest(password));
    return ok ? name : null;
  }

  #credential(i: number): Credential {
    const a = this.#accounts[i] as SecretAccount;
    const key = `${this.#keyPath}[${i}].password`;
    const value = resolveSecret(a.password, this.#baseDir, key);
    if (!looksLikeHash(value)) return { kind: 'clear', digest: digest(value) };
    try {
      return { kind: 'hash', hash: parsePasswordHash(value) };
    } catch (err) {
      // The reason says what is wrong with the string, never the string itself.
      throw new ConfigError(
        `${key}: the ${describeSecret(a.password)} of ${this.#what} ${a.name} holds a password hash that cannot be used: ${(err as Error).message}`,
        {
          object: key,
          hint: 'put the line printed by `crossforest serve hash-password` ($scrypt$N=…,r=…,p=…$salt$hash) on its first line; a clear password (labs only) must not start with $word$',
        },
      );
    }
  }
}
