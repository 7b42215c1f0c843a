// Rate limit of failed logins (issue 17: without locking the real user out). Two counts:
// - per client address (`perIp` in `windowSeconds`, a sliding window): a password spray from
//   one address across many names is stopped before any LDAP bind is tried;
// - per (user name, client address): after `perUser` failures each further try from that
//   address waits longer — 1 s, 2 s, 4 s … up to `windowSeconds` after the last failure.
// There is no count per user name alone: an attacker's wrong guesses from one address never
// stop the real user, who logs in from another. The price, written down: guesses at one name
// from many addresses are slowed per address only (the per-address limit still bounds each).
//
// A check that takes time (an LDAP bind, a scrypt hash) goes through `begin`: the attempt
// counts as a failure from its start, so a burst of parallel attempts cannot all pass
// `retryAfter` before the first outcome is known; the handle takes it back.
export interface ThrottleLimits {
  perIp: number;
  perUser: number;
  windowSeconds: number;
}

/** An attempt in progress, counted as a failure until it is settled otherwise. */
export interface LoginAttempt {
  /** The password was right: the attempt is not a failure, and the user's failures are cleared. */
  succeeded(): void;
  /** No answer (the check itself failed): the attempt counts neither way. */
  abandoned(): void;
}

export class LoginThrottle {
  readonly #limits: ThrottleLimits;
  readonly #now: () => number;
  readonly #failures = new Map<string, number[]>();
  /** Bounds memory whatever the callers do; the oldest keys go first. */
  readonly #maxKeys: number;

  constructor(limits: ThrottleLimits, opts: { now?: () => number; maxKeys?: number } = {}) {
    this.#limits = limits;
    this.#now = opts.now ?? Date.now;
    this.#maxKeys = opts.maxKeys ?? 100_000;
  }

  /** Seconds until the caller may try again, or 0 when allowed. */
  retryAfter(ip: string, user: string): number {
    const a = this.#wait(`ip:${ip}`, this.#limits.perIp);
    const b = user === '' ? 0 : this.#backOff(pairKey(ip, user));
    return Math.max(a, b);
  }

  fail(ip: string, user: string): void {
    this.#add(`ip:${ip}`);
    if (user !== '') this.#add(pairKey(ip, user));
  }

  /** Counts the attempt as a failure now; settle it with the handle once its outcome is known (a wrong password needs nothing more). */
  begin(ip: string, user: string): LoginAttempt {
    const ipKey = `ip:${ip}`;
    const userKey = pairKey(ip, user);
    const atIp = this.#add(ipKey);
    const atUser = user === '' ? undefined : this.#add(userKey);
    let settled = false;
    const takeBack = () => {
      if (settled) return false;
      settled = true;
      this.#remove(ipKey, atIp);
      if (atUser !== undefined) this.#remove(userKey, atUser);
      return true;
    };
    return {
      succeeded: () => {
        if (takeBack()) this.succeed(ip, user);
      },
      abandoned: () => void takeBack(),
    };
  }

  /**
   * One login check under the limit, for the GAL service and the dashboard alike: refused
   * (the seconds to wait) before `check` runs when the caller is over the limit; otherwise
   * counted as a failure from its start (`begin`), taken back when `check` returns a caller,
   * left counted when it returns null, not counted when it throws (no answer).
   */
  async guard<T>(ip: string, user: string, check: () => Promise<T | null>): Promise<{ retryAfter: number } | { value: T | null }> {
    const retryAfter = this.retryAfter(ip, user);
    if (retryAfter > 0) return { retryAfter };
    const attempt = this.begin(ip, user);
    let value: T | null;
    try {
      value = await check();
    } catch (err) {
      attempt.abandoned();
      throw err;
    }
    if (value !== null) attempt.succeeded();
    return { value };
  }

  /** A successful login clears the user's failures from that address (not the address's own: one good password does not excuse a spray). */
  succeed(ip: string, user: string): void {
    this.#failures.delete(pairKey(ip, user));
  }

  /** Seconds the (user, address) pair must still wait: none below perUser failures, then doubling from 1 s. */
  #backOff(key: string): number {
    const list = this.#recent(key);
    const over = list.length - this.#limits.perUser;
    if (over < 0) return 0;
    const delayMs = Math.min(this.#limits.windowSeconds, 2 ** Math.min(over, 30)) * 1000;
    const last = list[list.length - 1] ?? this.#now();
    const left = last + delayMs - this.#now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  #recent(key: string): number[] {
    const since = this.#now() - this.#limits.windowSeconds * 1000;
    const list = (this.#failures.get(key) ?? []).filter((t) => t > since);
    if (list.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, list);
    return list;
  }

  #wait(key: string, limit: number): number {
    const list = this.#recent(key);
    if (list.length < limit) return 0;
    const oldest = list[list.length - limit] ?? this.#now();
    return Math.max(1, Math.ceil((oldest + this.#limits.windowSeconds * 1000 - this.#now()) / 1000));
  }

  #add(key: string): number {
    const list = this.#recent(key);
    const at = this.#now();
    list.push(at);
    // Keep no more than needed to decide per key (the back-off counts up to 30 doublings past perUser).
    if (list.length > Math.max(this.#limits.perIp, this.#limits.perUser + 31)) list.shift();
    this.#failures.delete(key);
    if (this.#failures.size >= this.#maxKeys) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
    this.#failures.set(key, list);
    return at;
  }

  #remove(key: string, at: number): void {
    const list = this.#failures.get(key);
    const i = list ? list.lastIndexOf(at) : -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.#failures.delete(key);
  }
}

/** The (user name, client address) count's key; user names compare without case. */
const pairKey = (ip: string, user: string): string => `pair:${user.toLowerCase()}\u0000${ip}`;
