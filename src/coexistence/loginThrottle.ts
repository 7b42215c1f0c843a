// Rate limit of failed logins per client IP and per user name (sliding window). A caller
// over either limit is refused before any LDAP bind is tried, so a password-spraying
// client cannot use the service to test passwords against the directories.
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
    const b = user === '' ? 0 : this.#wait(`user:${user.toLowerCase()}`, this.#limits.perUser);
    return Math.max(a, b);
  }

  fail(ip: string, user: string): void {
    this.#add(`ip:${ip}`);
    if (user !== '') this.#add(`user:${user.toLowerCase()}`);
  }

  /** Counts the attempt as a failure now; settle it with the handle once its outcome is known (a wrong password needs nothing more). */
  begin(ip: string, user: string): LoginAttempt {
    const ipKey = `ip:${ip}`;
    const userKey = `user:${user.toLowerCase()}`;
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
        if (takeBack()) this.succeed(user);
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

  /** A successful login clears the user's failures (not the IP's: one good password does not excuse a spray). */
  succeed(user: string): void {
    this.#failures.delete(`user:${user.toLowerCase()}`);
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
    // Keep no more than needed to decide (limit) per key.
    if (list.length > Math.max(this.#limits.perIp, this.#limits.perUser)) list.shift();
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
