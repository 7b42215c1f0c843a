// Per-store throttling (issue 4): one Throttle per mail store (host:port) shared by every
// copy running in this process, so `organizations.<id>.mailStore.maxMessagesPerSecond` /
// `maxBytesPerSecond` bound what all of them together ask of that server. A copy counts
// each message against its source store (the read) and its target store (the append);
// a copy within one store counts both there.
//
// copyMailbox acquires the throttles of its two endpoints (MailEndpoint.storeLimits,
// filled by mailEndpoint from the project file) for the duration of the run and releases
// them at the end; an entry nobody holds is dropped. Should two copies name different
// limits for the same store (two project files in one process), the strictest limit of
// the copies running wins, per unit, until they finish.
import type { MailCopyOptions } from '../config/mail.ts';
import { imapPort, type MailStoreConfig } from '../config/organization.ts';
import { Throttle } from './throttle.ts';
import type { CopyMailboxInput, MailEndpoint, ThrottleReport } from './types.ts';

export interface StoreLimits {
  /** The store's identity: `host:port`, host in lower case. */
  key: string;
  /** 0 = unlimited. */
  maxMessagesPerSecond: number;
  /** 0 = unlimited. */
  maxBytesPerSecond: number;
}

/** A store's limits from its project-file section. */
export function storeLimitsOf(cfg: MailStoreConfig): StoreLimits {
  return {
    key: `${cfg.host.toLowerCase()}:${imapPort(cfg)}`,
    maxMessagesPerSecond: cfg.maxMessagesPerSecond,
    maxBytesPerSecond: cfg.maxBytesPerSecond,
  };
}

export interface StoreThrottleLease {
  readonly key: string;
  readonly throttle: Throttle;
  /** Gives the store back; the last holder's release drops the entry. Idempotent. */
  release(): void;
}

interface Entry {
  throttle: Throttle;
  holders: Map<number, StoreLimits>;
}

/** The strictest non-zero value, or 0 when every holder says unlimited. */
const strictest = (values: number[]): number => values.filter((v) => v > 0).reduce((a, v) => (a === 0 ? v : Math.min(a, v)), 0);

export class StoreThrottleRegistry {
  readonly #entries = new Map<string, Entry>();
  #serial = 0;
  #share = 1;
  readonly #clock: (() => number) | undefined;

  constructor(clock?: () => number) {
    this.#clock = clock;
  }

  /** The shared throttle of `limits.key`, held until release(). */
  acquire(limits: StoreLimits): StoreThrottleLease {
    let entry = this.#entries.get(limits.key);
    if (!entry) {
      entry = { throttle: new Throttle(limits.maxMessagesPerSecond, limits.maxBytesPerSecond, this.#clock), holders: new Map() };
      this.#entries.set(limits.key, entry);
    }
    const id = ++this.#serial;
    entry.holders.set(id, limits);
    this.#apply(entry);
    const e = entry;
    let released = false;
    return {
      key: limits.key,
      throttle: e.throttle,
      release: () => {
        if (released) return;
        released = true;
        e.holders.delete(id);
        if (e.holders.size > 0) this.#apply(e);
        else if (this.#entries.get(limits.key) === e) this.#entries.delete(limits.key);
      },
    };
  }

  /**
   * This process is one of `processes` that share every store's budget (queue workers on
   * many hosts): each gets 1/processes of each limit, so all together stay within it.
   */
  setShare(processes: number): void {
    const n = Math.max(1, Math.floor(processes));
    if (n === this.#share) return;
    this.#share = n;
    for (const e of this.#entries.values()) this.#apply(e);
  }

  get share(): number {
    return this.#share;
  }

  /** Stores with a holder now, and their effective limits. */
  active(): { key: string; holders: number; maxMessagesPerSecond: number; maxBytesPerSecond: number }[] {
    return [...this.#entries].map(([key, e]) => ({
      key,
      holders: e.holders.size,
      maxMessagesPerSecond: e.throttle.messagesPerSecond,
      maxBytesPerSecond: e.throttle.bytesPerSecond,
    }));
  }

  #apply(e: Entry): void {
    const held = [...e.holders.values()];
    e.throttle.setRates(
      strictest(held.map((h) => h.maxMessagesPerSecond)) / this.#share,
      strictest(held.map((h) => h.maxBytesPerSecond)) / this.#share,
    );
  }
}

/** The process-wide registry every copyMailbox consults. */
export const storeThrottles = new StoreThrottleRegistry();

type Limited = Pick<ThrottleReport, 'scope' | 'store' | 'maxMessagesPerSecond' | 'maxBytesPerSecond'>;

/** The limits a copy between these endpoints runs under as configured (the CLI shows them before it starts). */
export function configuredLimits(
  source: MailEndpoint,
  target: MailEndpoint,
  options: Pick<MailCopyOptions, 'maxMessagesPerSecond' | 'maxBytesPerSecond'>,
): Limited[] {
  const out: Limited[] = [
    { scope: 'mailbox', maxMessagesPerSecond: options.maxMessagesPerSecond, maxBytesPerSecond: options.maxBytesPerSecond },
  ];
  for (const [scope, ep] of [
    ['source store', source],
    ['target store', target],
  ] as const) {
    if (ep.storeLimits)
      out.push({
        scope,
        store: ep.address,
        maxMessagesPerSecond: ep.storeLimits.maxMessagesPerSecond,
        maxBytesPerSecond: ep.storeLimits.maxBytesPerSecond,
      });
  }
  return out.filter((l) => l.maxMessagesPerSecond > 0 || l.maxBytesPerSecond > 0);
}

export interface CopyThrottle {
  /** Waits until every throttle of the copy lets one message of `bytes` go. */
  take(bytes: number): Promise<void>;
  /** The limits as they were at the start, with the time waited on each (limited ones only). */
  report(): ThrottleReport[];
  /** Gives the stores' throttles back to the registry. */
  release(): void;
}

interface Part {
  label: Limited;
  throttle: Throttle;
  pending: number;
  since: number;
  waitedMs: number;
}

/**
 * The throttles of one copy: its own (mail.*), its source and target stores' from the
 * registry, and any the caller shares. Unlimited ones cost nothing per message.
 */
export function copyThrottle(
  input: Pick<CopyMailboxInput, 'source' | 'target' | 'options' | 'sharedThrottles'>,
  registry: StoreThrottleRegistry = storeThrottles,
): CopyThrottle {
  const { options } = input;
  const leases: StoreThrottleLease[] = [];
  const parts: Part[] = [];
  const add = (throttle: Throttle, scope: ThrottleReport['scope'], store?: string): void => {
    const label: Limited = {
      scope,
      ...(store ? { store } : {}),
      maxMessagesPerSecond: throttle.messagesPerSecond,
      maxBytesPerSecond: throttle.bytesPerSecond,
    };
    parts.push({ label, throttle, pending: 0, since: 0, waitedMs: 0 });
  };
  add(new Throttle(options.maxMessagesPerSecond, options.maxBytesPerSecond), 'mailbox');
  for (const [scope, ep] of [
    ['source store', input.source],
    ['target store', input.target],
  ] as const) {
    if (!ep.storeLimits) continue;
    const lease = registry.acquire(ep.storeLimits);
    leases.push(lease);
    add(lease.throttle, scope, ep.address);
  }
  for (const t of input.sharedThrottles ?? []) add(t, 'shared');
  const limited = (t: Throttle): boolean => t.messagesPerSecond > 0 || t.bytesPerSecond > 0;
  return {
    async take(bytes: number): Promise<void> {
      for (const p of parts) {
        if (!limited(p.throttle)) continue; // rates may change while a stricter copy holds the store
        if (p.pending++ === 0) p.since = performance.now();
        try {
          await p.throttle.take(bytes);
        } finally {
          if (--p.pending === 0) p.waitedMs += performance.now() - p.since;
        }
      }
    },
    report: () =>
      parts
        .filter((p) => p.label.maxMessagesPerSecond > 0 || p.label.maxBytesPerSecond > 0 || p.waitedMs >= 1)
        .map((p) => ({ ...p.label, waitedMs: Math.round(p.waitedMs + (p.pending ? performance.now() - p.since : 0)) })),
    release: () => {
      for (const l of leases) l.release();
    },
  };
}
