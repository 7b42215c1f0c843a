// Throttling (messages/s and bytes/s per mailbox): a token bucket per unit, refilled
// continuously, with one second of burst. 0 means unlimited.
export class Throttle {
  private readonly rates: [number, number];
  private readonly tokens: [number, number];
  private last = Date.now();

  constructor(messagesPerSecond: number, bytesPerSecond: number) {
    this.rates = [messagesPerSecond, bytesPerSecond];
    this.tokens = [messagesPerSecond, bytesPerSecond];
  }

  /** Waits until one message of `bytes` may go. A message bigger than the burst waits for its share, then goes. */
  async take(bytes: number): Promise<void> {
    const want: [number, number] = [1, bytes];
    for (;;) {
      const now = Date.now();
      const dt = (now - this.last) / 1000;
      this.last = now;
      let waitMs = 0;
      for (const i of [0, 1] as const) {
        const rate = this.rates[i];
        if (rate <= 0) continue;
        this.tokens[i] = Math.min(rate, this.tokens[i] + dt * rate);
        const need = Math.min(want[i], rate);
        if (this.tokens[i] < need) waitMs = Math.max(waitMs, ((need - this.tokens[i]) / rate) * 1000);
      }
      if (waitMs <= 0) {
        for (const i of [0, 1] as const) if (this.rates[i] > 0) this.tokens[i] -= want[i];
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(waitMs)));
    }
  }
}
