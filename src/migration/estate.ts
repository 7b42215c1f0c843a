// Capacity of a whole estate, by simulation: how many move windows 30,000 mailboxes on 100
// servers in 30 sites need, which servers bound each window, and whether the seed's rate
// (600 people in a six-hour window, four windows a day: 2,400 a day) holds. Pure: the
// estate is an inventory (generated here for "past this machine", or read from one), the
// rates are what copy passes measured (plan.ts measuredRate) or given.
//
// The model, stated so an administrator can argue with it:
// - A mailbox moves whole inside one window (copy, cutover, clean-up): its time is the fixed
//   per-mailbox overhead plus the slower of bytes ÷ byte rate and messages ÷ message rate.
// - One stream (a mailbox being copied) reaches at most the measured per-stream rate; a
//   server's streams share its maxBytesPerSecond, a site's streams share its WAN link, all
//   streams share what the target servers take in together (targetBytesPerSecond); each
//   server runs at most maxConcurrentMailboxes at once, and all worker hosts together at most
//   `workers` (when given). Rates are split evenly among the lanes that can run at once.
// - Fewer workers than servers: every server keeps one lane, and the workers are lanes of
//   their own that a mailbox needs too (a worker lane is a sequence of mailboxes on any
//   server), so no window holds more work than `workers` streams can do in it.
// - Mailboxes are packed largest first into the earliest window with a free lane on their
//   server (first-fit decreasing): the large ones set the pace, the small ones fill the gaps.
//   A mailbox that cannot move within one window alone is reported, not scheduled: it needs
//   an online move (copy ahead of the window, a delta in it).

export interface EstateMailbox {
  login: string;
  server: string;
  site: string;
  bytes: number;
  messages: number;
}

export interface EstateServer {
  name: string;
  site: string;
  maxConcurrentMailboxes: number;
  /** The server's own ceiling for all its streams together; Infinity when unknown. */
  maxBytesPerSecond: number;
}

export interface Estate {
  mailboxes: EstateMailbox[];
  servers: EstateServer[];
  /** WAN bandwidth per site for all its streams; a site not listed is not limited. */
  siteBytesPerSecond: Record<string, number>;
  /** What the target organization's servers take in all together; absent = not limited. */
  targetBytesPerSecond?: number | undefined;
}

export interface EstateRates {
  /** One stream's copy rate (measured: bench/copy.ts, or earlier passes). */
  streamBytesPerSecond: number;
  streamMessagesPerSecond: number;
  /** Seconds per mailbox outside the copy: pre-stage, cutover, clean-up, verify. */
  overheadSeconds: number;
}

export interface EstatePlanOptions {
  windowSeconds: number;
  windowsPerDay: number;
  /** Mailboxes in flight across every worker host; undefined = only the servers limit. */
  workers?: number | undefined;
  /** The goal to check against, per window (the seed: 600). */
  goalPerWindow: number;
}

export interface WindowSummary {
  index: number;
  mailboxes: number;
  bytes: number;
  /** Servers whose lanes are ≥ 95 % busy in this window: what bounds it. */
  boundingServers: string[];
  /** The worker hosts' lanes are ≥ 95 % busy in this window (only when fewer workers than servers). */
  boundByWorkers: boolean;
  /** The mailboxes moved in this window, largest first (the batch to create for it). */
  logins: string[];
}

/** Which share sets a server's lane rate: one stream, the server's ceiling, its site's link, or the target's intake. */
export type LaneLimit = 'stream' | 'server' | 'site' | 'target';

export interface EstatePlan {
  mailboxes: number;
  bytes: number;
  windows: number;
  days: number;
  perWindow: { mean: number; min: number; max: number };
  perDay: number;
  /** fits: the mean per window reaches the goal and no mailbox needs an online move. */
  goal: { perWindow: number; perDay: number; fits: boolean };
  /** Mailboxes too large for any single window: they need an online move. */
  tooLarge: { login: string; server: string; seconds: number }[];
  windowSummaries: WindowSummary[];
  /** Each lane's effective rate per server (after the server, site and worker shares). */
  laneBytesPerSecond: Record<string, number>;
  /** Per server, the share that set that rate (the smallest; the first of stream, server, site, target on a tie). */
  laneLimits: Record<string, LaneLimit>;
  /** Mailboxes in flight at once per server (its limit, shrunk when the worker hosts run fewer). */
  laneCounts: Record<string, number>;
}

/** Deterministic PRNG (mulberry32): the same seed gives the same estate on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller). */
const normal = (rand: () => number): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

export interface EstateShape {
  mailboxes: number;
  servers: number;
  sites: number;
  seed: number;
  /** Median mailbox size; sizes are log-normal (σ 1.2: most small, a long tail of big ones). */
  medianBytes: number;
  /** Mean message size, for the message count. */
  meanMessageBytes: number;
  maxConcurrentMailboxes: number;
  serverBytesPerSecond: number;
  /** Each site's WAN link (the seed's estate: remote sites on 100 Mbit/s links, 12.5 MB/s). */
  siteBytesPerSecond: number;
  targetBytesPerSecond: number;
  /** Mailbox size ceiling (a quota): the tail stops here. */
  maxBytes: number;
}

/** The seed's estate: 30,000 mailboxes on 100 servers in 30 sites. Rates in bytes per second (MB/s = 10^6 B/s, as links are sold). */
export const SEED_ESTATE: EstateShape = {
  mailboxes: 30_000,
  servers: 100,
  sites: 30,
  seed: 2007,
  medianBytes: 400 * 2 ** 20,
  meanMessageBytes: 75 * 2 ** 10,
  maxConcurrentMailboxes: 4,
  serverBytesPerSecond: 60e6,
  siteBytesPerSecond: 12.5e6,
  targetBytesPerSecond: 200e6,
  maxBytes: 20 * 2 ** 30,
};

/**
 * A generated estate: servers spread over sites (every site has one, the rest at random),
 * mailboxes over servers unevenly (a server's share ∝ a random weight, as real databases
 * fill unevenly), sizes log-normal around the median.
 */
export function generateEstate(shape: EstateShape): Estate {
  const rand = prng(shape.seed);
  const sites = Array.from({ length: shape.sites }, (_, i) => `site-${String(i + 1).padStart(2, '0')}`);
  const servers: EstateServer[] = Array.from({ length: shape.servers }, (_, i) => ({
    name: `mbx-${String(i + 1).padStart(3, '0')}`,
    site: sites[i < shape.sites ? i : Math.floor(rand() * shape.sites)] as string,
    maxConcurrentMailboxes: shape.maxConcurrentMailboxes,
    maxBytesPerSecond: shape.serverBytesPerSecond,
  }));
  const weights = servers.map(() => 0.5 + rand());
  const total = weights.reduce((a, w) => a + w, 0);
  const cumulative: number[] = [];
  let running = 0;
  for (const w of weights) {
    running += w;
    cumulative.push(running / total);
  }
  const mailboxes: EstateMailbox[] = [];
  for (let i = 0; i < shape.mailboxes; i++) {
    const u = rand();
    let s = cumulative.findIndex((c) => u <= c);
    if (s < 0) s = servers.length - 1;
    const server = servers[s] as EstateServer;
    const bytes = Math.min(shape.maxBytes, Math.round(shape.medianBytes * Math.exp(1.2 * normal(rand))));
    mailboxes.push({
      login: `user${String(i + 1).padStart(5, '0')}`,
      server: server.name,
      site: server.site,
      bytes,
      messages: Math.max(1, Math.round(bytes / shape.meanMessageBytes)),
    });
  }
  return {
    mailboxes,
    servers,
    siteBytesPerSecond: Object.fromEntries(sites.map((s) => [s, shape.siteBytesPerSecond])),
    targetBytesPerSecond: shape.targetBytesPerSecond,
  };
}

/** Each server's lane count and per-lane byte rate, after the server, site and worker shares. */
function lanes(
  estate: Estate,
  rates: EstateRates,
  workers: number | undefined,
): { perServer: Map<string, { count: number; bytesPerSecond: number; limit: LaneLimit }>; workerLanes: number | undefined } {
  const out = new Map<string, { count: number; bytesPerSecond: number; limit: LaneLimit }>();
  const totalLanes = estate.servers.reduce((a, s) => a + s.maxConcurrentMailboxes, 0);
  // Workers fewer than the servers' lanes: each server's lanes shrink in proportion (at least one).
  const workerShare = workers !== undefined && workers < totalLanes ? workers / totalLanes : 1;
  const siteLanes = new Map<string, number>();
  for (const s of estate.servers) {
    const count = Math.max(1, Math.floor(s.maxConcurrentMailboxes * workerShare));
    out.set(s.name, { count, bytesPerSecond: 0, limit: 'stream' });
    siteLanes.set(s.site, (siteLanes.get(s.site) ?? 0) + count);
  }
  const allLanes = [...out.values()].reduce((a, l) => a + l.count, 0);
  // One lane a server still makes more lanes than workers: the workers are lanes of their own.
  const workerLanes = workers !== undefined && workers < allLanes ? workers : undefined;
  const atOnce = (n: number): number => Math.max(1, Math.min(n, workerLanes ?? n));
  const target = (estate.targetBytesPerSecond ?? Number.POSITIVE_INFINITY) / atOnce(allLanes);
  for (const s of estate.servers) {
    const l = out.get(s.name)!;
    const site = estate.siteBytesPerSecond[s.site] ?? Number.POSITIVE_INFINITY;
    const shares: [LaneLimit, number][] = [
      ['stream', rates.streamBytesPerSecond],
      ['server', s.maxBytesPerSecond / l.count],
      ['site', site / atOnce(siteLanes.get(s.site) ?? 1)],
      ['target', target],
    ];
    for (const [limit, bps] of shares) if (limit === 'stream' || bps < l.bytesPerSecond) [l.limit, l.bytesPerSecond] = [limit, bps];
  }
  return { perServer: out, workerLanes };
}

/** Best fit: the fullest lane that still has room for `s` seconds in a window of `T` (keeps whole lanes free for big ones); -1 when none has. */
function bestFit(laneTimes: readonly number[], s: number, T: number): number {
  let best = -1;
  for (let i = 0; i < laneTimes.length; i++) {
    const t = laneTimes[i] as number;
    if (t + s <= T && (best < 0 || t > (laneTimes[best] as number))) best = i;
  }
  return best;
}

export function planEstate(estate: Estate, rates: EstateRates, opts: EstatePlanOptions): EstatePlan {
  const { perServer: laneOf, workerLanes } = lanes(estate, rates, opts.workers);
  const T = opts.windowSeconds;
  const seconds = (m: EstateMailbox): number => {
    const l = laneOf.get(m.server);
    const bps = l?.bytesPerSecond ?? rates.streamBytesPerSecond;
    return rates.overheadSeconds + Math.max(m.bytes / bps, m.messages / rates.streamMessagesPerSecond);
  };
  // Per server: per window, the lanes' used seconds (a lane is a sequence of mailboxes).
  const used = new Map<string, number[][]>();
  // Per window, the worker lanes' used seconds (only when fewer workers than servers).
  const workerUsed: number[][] = [];
  const perWindow: { mailboxes: number; bytes: number; logins: string[] }[] = [];
  const tooLarge: EstatePlan['tooLarge'] = [];
  const jobs = estate.mailboxes.map((m) => ({ m, s: seconds(m) })).sort((a, b) => b.s - a.s);
  for (const { m, s } of jobs) {
    if (s > T) {
      tooLarge.push({ login: m.login, server: m.server, seconds: Math.round(s) });
      continue;
    }
    const lanesOfServer = laneOf.get(m.server)?.count ?? 1;
    let windows = used.get(m.server);
    if (!windows) {
      windows = [];
      used.set(m.server, windows);
    }
    let placed = false;
    for (let w = 0; !placed; w++) {
      windows[w] ??= Array.from({ length: lanesOfServer }, () => 0);
      const laneTimes = windows[w] as number[];
      const best = bestFit(laneTimes, s, T);
      let worker = -1;
      if (best >= 0 && workerLanes !== undefined) {
        workerUsed[w] ??= Array.from({ length: workerLanes }, () => 0);
        worker = bestFit(workerUsed[w] as number[], s, T);
      }
      if (best >= 0 && (workerLanes === undefined || worker >= 0)) {
        laneTimes[best] = (laneTimes[best] as number) + s;
        if (worker >= 0) (workerUsed[w] as number[])[worker] = ((workerUsed[w] as number[])[worker] as number) + s;
        perWindow[w] ??= { mailboxes: 0, bytes: 0, logins: [] };
        perWindow[w]!.mailboxes++;
        perWindow[w]!.bytes += m.bytes;
        perWindow[w]!.logins.push(m.login);
        placed = true;
      }
    }
  }
  const windowCount = perWindow.length;
  const windowSummaries: WindowSummary[] = perWindow.map((p, w) => {
    const bounding: { name: string; load: number }[] = [];
    for (const [server, windows] of used) {
      const laneTimes = windows[w];
      if (!laneTimes) continue;
      const load = laneTimes.reduce((a, t) => a + t, 0) / (laneTimes.length * T);
      if (load >= 0.95) bounding.push({ name: server, load });
    }
    bounding.sort((a, b) => b.load - a.load || a.name.localeCompare(b.name));
    const workerTimes = workerUsed[w];
    const boundByWorkers = workerTimes !== undefined && workerTimes.reduce((a, t) => a + t, 0) / (workerTimes.length * T) >= 0.95;
    return {
      index: w + 1,
      mailboxes: p.mailboxes,
      bytes: p.bytes,
      boundingServers: bounding.map((b) => b.name),
      boundByWorkers,
      logins: p.logins,
    };
  });
  const scheduled = perWindow.reduce((a, p) => a + p.mailboxes, 0);
  const mean = windowCount > 0 ? scheduled / windowCount : 0;
  // The seed's figure is a sustained rate (600 a window on average): packing largest first
  // makes the first windows fewer and larger, the last ones many and small.
  const fits = windowCount > 0 && mean >= opts.goalPerWindow && tooLarge.length === 0;
  return {
    mailboxes: estate.mailboxes.length,
    bytes: estate.mailboxes.reduce((a, m) => a + m.bytes, 0),
    windows: windowCount,
    days: Math.ceil(windowCount / opts.windowsPerDay),
    perWindow: {
      mean: Math.round(mean),
      min: windowCount > 0 ? Math.min(...perWindow.map((p) => p.mailboxes)) : 0,
      max: Math.max(0, ...perWindow.map((p) => p.mailboxes)),
    },
    perDay: Math.round(mean * opts.windowsPerDay),
    goal: { perWindow: opts.goalPerWindow, perDay: opts.goalPerWindow * opts.windowsPerDay, fits },
    tooLarge,
    windowSummaries,
    laneBytesPerSecond: Object.fromEntries([...laneOf].map(([name, l]) => [name, Math.round(l.bytesPerSecond)])),
    laneLimits: Object.fromEntries([...laneOf].map(([name, l]) => [name, l.limit])),
    laneCounts: Object.fromEntries([...laneOf].map(([name, l]) => [name, l.count])),
  };
}
