// `crossforest plan --estate`: the estate simulation (estate.ts) as a command needs an estate
// (generated from a shape, or read from a JSON file of the Estate shape), the per-stream
// rates (measured on this project's earlier copy passes by plan.ts, or given, or assumed,
// always saying which), and a result that adds up: every mailbox of the inventory is in
// exactly one window or in the too-large list. The helpers that shape what the command
// prints (the capped window list, the bounding servers, the lane limits) are pure and here
// too, so that the command file only parses and prints.
import { readFileSync } from 'node:fs';
import { DEFAULT_CUTOVER_SETTLE_SECONDS } from '../config/migration.ts';
import type { StateStore } from '../state/store.ts';
import {
  type Estate,
  type EstateMailbox,
  type EstatePlan,
  type EstateRates,
  type EstateServer,
  type EstateShape,
  generateEstate,
  type LaneLimit,
  planEstate,
  SEED_ESTATE,
} from './estate.ts';
import { measuredOverhead, measuredRate } from './plan.ts';
import { MigrationError } from './setup.ts';

/** The seed's goal: 600 people in a six-hour night window, four windows a day (2,400 a day). */
export const SEED_GOAL_PER_WINDOW = 600;
export const DEFAULT_WINDOW_HOURS = 6;
export const DEFAULT_WINDOWS_PER_DAY = 4;
/**
 * Before any copy pass was measured: the same guess `crossforest plan <names file>` makes
 * (5 MB/s a stream, messages not limiting, 3 s of fixed steps plus the cutover settle).
 */
export const ASSUMED_STREAM_MBPS = 5;
export const ASSUMED_OVERHEAD_SECONDS = 3 + DEFAULT_CUTOVER_SETTLE_SECONDS;

export interface EstateInput {
  /** `generate`, or the path of a JSON file of the Estate shape. */
  estate: string;
  /** Shape of a generated estate (each defaults to the seed's). */
  mailboxes?: number | undefined;
  servers?: number | undefined;
  sites?: number | undefined;
  seed?: number | undefined;
  windowHours?: number | undefined;
  windowsPerDay?: number | undefined;
  workers?: number | undefined;
  /** MB/s (10^6 bytes) per stream, in place of the measured rate. */
  rateMBps?: number | undefined;
  goalPerWindow?: number | undefined;
}

export interface EstateRatesUsed extends EstateRates {
  /** Where the stream rates come from, in words (measured, given or assumed). */
  source: string;
  /** Where the fixed seconds per mailbox come from. */
  overheadSource: 'measured' | 'assumed';
}

export interface EstateTotals {
  mailboxes: number;
  bytes: number;
  scheduled: { mailboxes: number; bytes: number };
  tooLarge: { mailboxes: number; bytes: number };
}

export interface EstateLimitGroup {
  limit: LaneLimit;
  servers: number;
  laneBytesPerSecond: { min: number; max: number };
}

export interface EstateRun {
  estate: {
    source: string;
    mailboxes: number;
    servers: number;
    sites: number;
    bytes: number;
    /** The shape it was generated from (absent for a file). */
    shape?: EstateShape | undefined;
  };
  rates: EstateRatesUsed;
  windowSeconds: number;
  windowsPerDay: number;
  workers: number | null;
  plan: EstatePlan;
  totals: EstateTotals;
  /** Servers grouped by what sets their lane rate, the tightest groups first. */
  limits: EstateLimitGroup[];
}

const problem = (message: string, hint?: string): MigrationError =>
  new MigrationError('CF_ERR_ESTATE', message, { object: 'plan --estate', ...(hint ? { hint } : {}) });

function positiveInteger(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 1) throw problem(`${name} must be a whole number of 1 or more, not "${v}"`);
  return v;
}

/** Pure: the rates the simulation runs at, measured first unless a rate is given, else the stated assumption. */
export function chooseEstateRates(
  measured: { bytesPerSecond: number; messagesPerSecond: number; passes: number } | undefined,
  measuredOverheadSeconds: number | undefined,
  rateMBps?: number,
): EstateRatesUsed {
  const overhead = {
    overheadSeconds: measuredOverheadSeconds ?? ASSUMED_OVERHEAD_SECONDS,
    overheadSource: measuredOverheadSeconds === undefined ? ('assumed' as const) : ('measured' as const),
  };
  if (rateMBps !== undefined)
    return {
      streamBytesPerSecond: rateMBps * 1e6,
      streamMessagesPerSecond: Number.POSITIVE_INFINITY,
      ...overhead,
      source: `given: --rate ${rateMBps}`,
    };
  if (measured)
    return {
      streamBytesPerSecond: measured.bytesPerSecond,
      streamMessagesPerSecond: measured.messagesPerSecond,
      ...overhead,
      source: `measured on ${measured.passes} earlier copy passes`,
    };
  return {
    streamBytesPerSecond: ASSUMED_STREAM_MBPS * 1e6,
    streamMessagesPerSecond: Number.POSITIVE_INFINITY,
    ...overhead,
    source: 'assumed: nothing measured yet; run a trial batch, or give --rate',
  };
}

/** The rates measured on this project's state store (plan.ts), or given, or assumed. */
export async function estateRates(store: StateStore, rateMBps?: number): Promise<EstateRatesUsed> {
  if (rateMBps !== undefined && !(Number.isFinite(rateMBps) && rateMBps > 0))
    throw problem(`--rate must be a number of MB/s above 0, not "${rateMBps}"`);
  return chooseEstateRates(await measuredRate(store), await measuredOverhead(store), rateMBps);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
/** A rate in bytes per second; null or absent = not limited. */
const rateOf = (v: unknown): number | undefined =>
  v === undefined || v === null ? Number.POSITIVE_INFINITY : typeof v === 'number' && v > 0 ? v : undefined;

/** One entry of "servers", or what is wrong with it. */
function serverEntry(s: unknown, at: string, byName: ReadonlyMap<string, EstateServer>): EstateServer | string {
  if (!isRecord(s) || typeof s.name !== 'string' || s.name === '' || typeof s.site !== 'string' || s.site === '')
    return `${at}: needs a "name" and a "site"`;
  if (byName.has(s.name)) return `${at}: server "${s.name}" is listed twice`;
  const lanes = s.maxConcurrentMailboxes;
  if (!isCount(lanes) || lanes < 1) return `${at} (${s.name}): "maxConcurrentMailboxes" must be a whole number of 1 or more`;
  const max = rateOf(s.maxBytesPerSecond);
  if (max === undefined) return `${at} (${s.name}): "maxBytesPerSecond" must be bytes per second above 0, or null`;
  return { name: s.name, site: s.site, maxConcurrentMailboxes: lanes, maxBytesPerSecond: max };
}

/** One entry of "mailboxes" (its login noted in `logins`), or what is wrong with it. */
function mailboxEntry(m: unknown, at: string, byName: ReadonlyMap<string, EstateServer>, logins: Set<string>): EstateMailbox | string {
  if (!isRecord(m) || typeof m.login !== 'string' || m.login === '') return `${at}: needs a "login"`;
  if (logins.has(m.login)) return `${at}: mailbox "${m.login}" is listed twice`;
  logins.add(m.login);
  const server = typeof m.server === 'string' ? byName.get(m.server) : undefined;
  if (!server) return `${at} (${m.login}): server ${JSON.stringify(m.server)} is not in "servers"`;
  if (m.site !== undefined && m.site !== server.site)
    return `${at} (${m.login}): site "${String(m.site)}" is not its server's site "${server.site}"`;
  if (!isCount(m.bytes) || !isCount(m.messages)) return `${at} (${m.login}): "bytes" and "messages" must be whole numbers of 0 or more`;
  return { login: m.login, server: server.name, site: server.site, bytes: m.bytes, messages: m.messages };
}

/**
 * An estate from JSON text of the Estate shape: `servers` [{ name, site,
 * maxConcurrentMailboxes, maxBytesPerSecond? }], `mailboxes` [{ login, server, bytes,
 * messages, site? }], `siteBytesPerSecond`? { site: B/s }, `targetBytesPerSecond`?. A rate
 * left out (or null) is not limited. Every problem is listed, with its place in the file.
 */
export function parseEstate(text: string, name: string): Estate {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw problem(
      `${name} is not JSON: ${(err as Error).message}`,
      'give a JSON file of the Estate shape (src/migration/estate.ts), or --estate generate',
    );
  }
  const problems: string[] = [];
  const MAX_LISTED = 20;
  const add = (p: string): void => void problems.push(p);
  if (!isRecord(doc) || !Array.isArray(doc.servers) || !Array.isArray(doc.mailboxes)) {
    throw problem(`${name}: needs an object with "servers" and "mailboxes" arrays`, 'see the Estate shape in src/migration/estate.ts');
  }
  const servers: EstateServer[] = [];
  const byName = new Map<string, EstateServer>();
  for (const [i, s] of (doc.servers as unknown[]).entries()) {
    const r = serverEntry(s, `servers[${i}]`, byName);
    if (typeof r === 'string') add(r);
    else {
      servers.push(r);
      byName.set(r.name, r);
    }
  }
  const mailboxes: EstateMailbox[] = [];
  const logins = new Set<string>();
  for (const [i, m] of (doc.mailboxes as unknown[]).entries()) {
    const r = mailboxEntry(m, `mailboxes[${i}]`, byName, logins);
    if (typeof r === 'string') add(r);
    else mailboxes.push(r);
  }
  const siteBytesPerSecond: Record<string, number> = {};
  if (doc.siteBytesPerSecond !== undefined) {
    if (!isRecord(doc.siteBytesPerSecond)) add('"siteBytesPerSecond" must be an object of site: bytes per second');
    else
      for (const [site, v] of Object.entries(doc.siteBytesPerSecond)) {
        const r = rateOf(v);
        if (r === undefined) add(`siteBytesPerSecond.${site}: must be bytes per second above 0, or null`);
        else siteBytesPerSecond[site] = r;
      }
  }
  const target = rateOf(doc.targetBytesPerSecond);
  if (target === undefined) add('"targetBytesPerSecond" must be bytes per second above 0, or null');
  if (servers.length === 0 && problems.length === 0) add('"servers" is empty');
  if (problems.length) {
    const listed = problems.slice(0, MAX_LISTED).map((p) => `  ✗ ${p}`);
    if (problems.length > MAX_LISTED) listed.push(`  … and ${problems.length - MAX_LISTED} more`);
    throw problem(`${name} is not a usable estate:\n${listed.join('\n')}`);
  }
  return { servers, mailboxes, siteBytesPerSecond, targetBytesPerSecond: target };
}

/** The shape to generate: the seed's, with the given counts. */
export function estateShape(input: Pick<EstateInput, 'mailboxes' | 'servers' | 'sites' | 'seed'>): EstateShape {
  const shape: EstateShape = {
    ...SEED_ESTATE,
    mailboxes: positiveInteger('--mailboxes', input.mailboxes, SEED_ESTATE.mailboxes),
    servers: positiveInteger('--servers', input.servers, SEED_ESTATE.servers),
    sites: positiveInteger('--sites', input.sites, SEED_ESTATE.sites),
  };
  if (input.seed !== undefined) {
    if (!Number.isInteger(input.seed)) throw problem(`--seed must be a whole number, not "${input.seed}"`);
    shape.seed = input.seed;
  }
  if (shape.sites > shape.servers) throw problem(`--sites ${shape.sites} is more than --servers ${shape.servers}: every site has a server`);
  return shape;
}

/** Pure: what the plan adds up to, checked against the inventory (every mailbox once: in a window, or too large). */
export function estateTotals(estate: Estate, plan: EstatePlan): EstateTotals {
  const bytesOf = new Map(estate.mailboxes.map((m) => [m.login, m.bytes]));
  const scheduled = plan.windowSummaries.reduce((a, w) => ({ mailboxes: a.mailboxes + w.mailboxes, bytes: a.bytes + w.bytes }), {
    mailboxes: 0,
    bytes: 0,
  });
  const tooLarge = { mailboxes: plan.tooLarge.length, bytes: plan.tooLarge.reduce((a, t) => a + (bytesOf.get(t.login) ?? 0), 0) };
  return { mailboxes: estate.mailboxes.length, bytes: estate.mailboxes.reduce((a, m) => a + m.bytes, 0), scheduled, tooLarge };
}

/** Pure: servers grouped by the share that sets their lane rate, slowest lanes first. */
export function limitGroups(plan: EstatePlan): EstateLimitGroup[] {
  const groups = new Map<LaneLimit, EstateLimitGroup>();
  for (const [server, limit] of Object.entries(plan.laneLimits)) {
    const bps = plan.laneBytesPerSecond[server] ?? 0;
    const g = groups.get(limit);
    if (!g) groups.set(limit, { limit, servers: 1, laneBytesPerSecond: { min: bps, max: bps } });
    else {
      g.servers++;
      g.laneBytesPerSecond.min = Math.min(g.laneBytesPerSecond.min, bps);
      g.laneBytesPerSecond.max = Math.max(g.laneBytesPerSecond.max, bps);
    }
  }
  return [...groups.values()].sort((a, b) => a.laneBytesPerSecond.min - b.laneBytesPerSecond.min || b.servers - a.servers);
}

/** Loads (or generates) the estate, takes the rates from the project's state, and plans it. Opens no lab. */
export async function runEstatePlan(store: StateStore, input: EstateInput): Promise<EstateRun> {
  const windowHours = input.windowHours ?? DEFAULT_WINDOW_HOURS;
  if (!(Number.isFinite(windowHours) && windowHours > 0 && windowHours <= 24))
    throw problem(`--window-hours must be above 0 and at most 24, not "${input.windowHours}"`);
  const windowsPerDay = positiveInteger('--windows-per-day', input.windowsPerDay, DEFAULT_WINDOWS_PER_DAY);
  if (windowHours * windowsPerDay > 24)
    throw problem(`${windowsPerDay} windows of ${windowHours} h do not fit in a day`, 'lower --windows-per-day or --window-hours');
  const workers = input.workers === undefined ? undefined : positiveInteger('--workers', input.workers, 1);
  const goalPerWindow = positiveInteger('--goal', input.goalPerWindow, SEED_GOAL_PER_WINDOW);
  let estate: Estate;
  let shape: EstateShape | undefined;
  let source: string;
  if (input.estate === 'generate') {
    shape = estateShape(input);
    estate = generateEstate(shape);
    source = `generated (seed ${shape.seed})`;
  } else {
    const given = (['mailboxes', 'servers', 'sites', 'seed'] as const).filter((k) => input[k] !== undefined);
    if (given.length)
      throw problem(
        `only --estate generate takes ${given.map((k) => `--${k}`).join(', ')}, not the file ${input.estate}`,
        'use --estate generate, or leave them out',
      );
    let text: string;
    try {
      text = readFileSync(input.estate, 'utf8');
    } catch (err) {
      throw problem(
        `--estate ${input.estate}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
        'give `generate` or a JSON file of the Estate shape',
      );
    }
    estate = parseEstate(text, input.estate);
    source = input.estate;
  }
  const rates = await estateRates(store, input.rateMBps);
  const windowSeconds = windowHours * 3600;
  const plan = planEstate(estate, rates, { windowSeconds, windowsPerDay, workers, goalPerWindow });
  const totals = estateTotals(estate, plan);
  return {
    estate: {
      source,
      mailboxes: totals.mailboxes,
      servers: estate.servers.length,
      sites: new Set(estate.servers.map((s) => s.site)).size,
      bytes: totals.bytes,
      shape,
    },
    rates,
    windowSeconds,
    windowsPerDay,
    workers: workers ?? null,
    plan,
    totals,
    limits: limitGroups(plan),
  };
}

/** A row left out of a long list: how many. */
export interface Omitted {
  omitted: number;
}

/** Pure: the first `head` rows and the last `tail`, with one marker for those between; all of them when `all`. */
export function capRows<T>(rows: readonly T[], all: boolean, head = 10, tail = 1): (T | Omitted)[] {
  if (all || rows.length <= head + tail + 1) return [...rows];
  return [...rows.slice(0, head), { omitted: rows.length - head - tail }, ...rows.slice(rows.length - tail)];
}

/** Pure: what bounds a window, for a table cell: the workers, "all 100 servers", or the first names and how many more. */
export function boundingLabel(servers: readonly string[], totalServers: number, workers = false, shown = 3): string {
  const names =
    servers.length === 0
      ? ''
      : servers.length === totalServers && totalServers > shown
        ? `all ${totalServers} servers`
        : servers.length <= shown
          ? servers.join(', ')
          : `${servers.length} servers: ${servers.slice(0, shown).join(', ')} …`;
  if (workers) return names ? `the workers; ${names}` : 'the workers';
  return names || '—';
}

/** Pure: what a lane limit means, in words. */
export const LIMIT_WORDS: Record<LaneLimit, string> = {
  stream: 'one stream’s rate',
  server: 'the source server’s ceiling shared by its lanes',
  site: 'the site’s WAN link shared by its servers’ lanes',
  target: 'the target servers’ intake shared by every lane',
};
