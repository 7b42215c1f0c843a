// Throttling (messages/s and bytes/s): a token bucket per unit, refilled continuously,
// with one second of burst. 0 means unlimited. One Throttle may be shared by any number
// of concurrent takers (every copy against one store, storeThrottle.ts): they wait in
// one first-come first-served queue served by a single timer, so a busy taker cannot
// starve a quiet one and nobody polls.

interface Waiter {
  bytes: number;
  resolve: () => void;
}

export class Throttle {
  // [messages/s, bytes/s]; tokens may go below zero after a message bigger than the burst.
  #rates: [number, number];
  #tokens: [number, number];
  #last: number;
  readonly #queue: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #clock: () => number;

  /** `clock` returns milliseconds (monotonic by default); tests may pass their own. */
  constructor(messagesPerSecond: number, bytesPerSecond: number, clock: () => number = () => performance.now()) {
    this.#clock = clock;
    this.#rates = [messagesPerSecond, bytesPerSecond];
    this.#tokens = [messagesPerSecond, bytesPerSecond];
    this.#last = clock();
  }

  get messagesPerSecond(): number {
    return this.#rates[0];
  }

  get bytesPerSecond(): number {
    return this.#rates[1];
  }

  /** Takers waiting now (for reports and tests). */
  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Resolves when one message of `bytes` may go. A message bigger than the burst waits
   * for a full bucket, then goes (the bucket owes the rest). Unlimited: resolves at once.
   */
  take(bytes: number): Promise<void> {
    if (this.#queue.length === 0) {
      this.#refill();
      if (this.#waitMs(bytes) <= 0) {
        this.#consume(bytes);
        return Promise.resolve();
      }
    }
    return new Promise((resolve) => {
      this.#queue.push({ bytes, resolve });
      if (!this.#timer) this.#pump();
    });
  }

  /** New rates (0 = unlimited) from now on; waiting takers are served at the new pace. */
  setRates(messagesPerSecond: number, bytesPerSecond: number): void {
    const next: [number, number] = [messagesPerSecond, bytesPerSecond];
    if (next[0] === this.#rates[0] && next[1] === this.#rates[1]) return;
    this.#refill();
    for (const i of [0, 1] as const) {
      // A unit that was unlimited starts with a full bucket; a lowered one keeps no more than its new burst.
      this.#tokens[i] = this.#rates[i] <= 0 ? next[i] : Math.min(this.#tokens[i], next[i]);
    }
    this.#rates = next;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#pump();
    }
  }

  #refill(): void {
    const now = this.#clock();
    const dt = Math.max(0, now - this.#last) / 1000;
    this.#last = now;
    for (const i of [0, 1] as const) {
      const rate = this.#rates[i];
      if (rate > 0) this.#tokens[i] = Math.min(rate, this.#tokens[i] + dt * rate);
    }
  }

  /** Milliseconds until a message of `bytes` may go (0: now). */
  #waitMs(bytes: number): number {
    const want = [1, bytes];
    let wait = 0;
    for (const i of [0, 1] as const) {
      const rate = this.#rates[i];
      if (rate <= 0) continue;
      const need = Math.min(want[i] as number, rate);
      if (this.#tokens[i] < need) wait = Math.max(wait, ((need - this.#tokens[i]) / rate) * 1000);
    }
    return wait;
  }

  #consume(bytes: number): void {
    if (this.#rates[0] > 0) this.#tokens[0] -= 1;
    if (this.#rates[1] > 0) this.#tokens[1] -= bytes;
  }

  /** Serves the queue head while tokens last, then sleeps until the head can go. */
  readonly #pump = (): void => {
    this.#timer = undefined;
    this.#refill();
    for (;;) {
      const head = this.#queue[0];
      if (!head) return;
      const wait = this.#waitMs(head.bytes);
      if (wait > 0) {
        this.#timer = setTimeout(this.#pump, Math.max(1, Math.ceil(wait)));
        return;
      }
      this.#consume(head.bytes);
      this.#queue.shift();
      head.resolve();
    }
  };
}
