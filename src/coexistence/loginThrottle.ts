// Rate limit of failed logins per client IP and per user name (sliding window). A caller
// over either limit is refused before any LDAP bind is tried, so a password-spraying
// client cannot use the service to test passwords against the directories.
export interface ThrottleLimits {
  perIp: number;
  perUser: number;
  windowSeconds: number;
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

  #add(key: string): void {
    const list = this.#recent(key);
    list.push(this.#now());
    // Keep no more than needed to decide (limit) per key.
    if (list.length > Math.max(this.#limits.perIp, this.#limits.perUser)) list.shift();
    this.#failures.delete(key);
    if (this.#failures.size >= this.#maxKeys) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
    this.#failures.set(key, list);
  }
}
