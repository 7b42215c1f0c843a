// Radicale (Debian's radicale 3.1.8) as each lab organization's CalDAV server: one
// instance per forest on 127.0.0.1:5231 (A) / 5232 (B), config and collections under
// <labDir>/radicale-a|b/. Auth: htpasswd (apr1-md5, verified by passlib from
// python3-passlib; hashes made with `openssl passwd -apr1`). Users log in with their
// userPrincipalName (the IMAP login); the `freebusy` service account may read every
// user's collections and nothing else: that is what the coexistence service uses; the
// `calmigrate` service account may read and write every user's home and collections
// (a CalDAV/CardDAV copy tool reads the source user's and creates the target user's).
// Every mailbox user has generated calendars, tasks and contacts (corpus.ts), written
// into the storage while Radicale is stopped, regenerated when stale.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../src/util/errors.ts';
import { sourcePath } from '../../src/util/sourceTree.ts';
import type { LabContext, MailStoreStatus } from '../context.ts';
import { FOREST_IDS, type ForestId } from '../forests.ts';
import { run } from '../proc.ts';
import { isAlive, pidOwnedBy, portOpen, readPidFile, stopPid, waitFor } from '../process.ts';
import { ensureSecretFile, readSecret } from '../secrets.ts';
import {
  mailboxUsers,
  type RadicaleCorpusManifest,
  radicaleCorpusStale,
  radicaleCorpusSummary,
  readRadicaleManifest,
  regenerateRadicaleCorpus,
  type SharedCalendarInfo,
  sharedCalendarOf,
} from './corpus.ts';

export const RADICALE_PORTS: Record<ForestId, number> = { a: 5231, b: 5232 };
/** The read-everything service account of each Radicale. */
export const FREEBUSY_USER = 'freebusy';
/** The read-and-write-everything service account of each Radicale (calendar and contact migration). */
export const CALMIGRATE_USER = 'calmigrate';
/** The largest request body each lab Radicale takes (its max_content_length). */
export const RADICALE_MAX_ITEM_BYTES: Record<ForestId, number> = { a: 100_000_000, b: 2_000_000 };
/**
 * How a lab Radicale is started: Debian's Radicale through a small launcher that turns its
 * internal fsync off (radicale-nofsync.py), then `--config <file>`.
 */
export const RADICALE_COMMAND = ['/usr/bin/python3', sourcePath('lab', 'radicale', 'radicale-nofsync.py')] as const;

export interface RadicalePaths {
  dir: string;
  conf: string;
  rights: string;
  users: string;
  collections: string;
  pidFile: string;
  logFile: string;
  /** Radicale's `filesystem_folder`/collection-root: `<upn>/<collection>/` folders. */
  collectionRoot: string;
  /** Password of the freebusy account (first line), 0600, kept across restarts. */
  secret: string;
  /** Password of the calmigrate account (first line), 0600, kept across restarts. */
  calmigrateSecret: string;
}

/** Shaped like a mail store's status so `lab status` and lab.json list it beside Dovecot. */
export interface RadicaleStatus extends MailStoreStatus {
  url: string;
  dataDir: string;
  /** The freebusy account's password file. */
  secretFile: string;
  /** The calmigrate account's password file. */
  calmigrateSecretFile: string;
}

export function radicalePaths(labDir: string, id: ForestId): RadicalePaths {
  const dir = join(labDir, `radicale-${id}`);
  return {
    dir,
    conf: join(dir, 'config'),
    rights: join(dir, 'rights'),
    users: join(dir, 'users'),
    collections: join(dir, 'collections'),
    collectionRoot: join(dir, 'collections', 'collection-root'),
    pidFile: join(dir, 'radicale.pid'),
    logFile: join(dir, 'radicale.log'),
    secret: join(labDir, 'secrets', `radicale-${id}-freebusy.pw`),
    calmigrateSecret: join(labDir, 'secrets', `radicale-${id}-calmigrate.pw`),
  };
}

export function radicaleUrl(id: ForestId): string {
  return `http://127.0.0.1:${RADICALE_PORTS[id]}/`;
}

async function apr1(password: string): Promise<string> {
  // -stdin keeps the password off the command line (visible in /proc to everyone).
  const r = await run('openssl', ['passwd', '-apr1', '-stdin'], { input: `${password}\n`, what: 'radicale htpasswd' });
  return r.stdout.trim();
}

function regexEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The from_file rights: the first matching section wins; user and collection are
 * full-match regexes. `R`/`W` are on homes (untagged collections), `r`/`w` on calendars
 * and address books and their items.
 */
export function rightsFile(shared: SharedCalendarInfo | null): string {
  const sections = [
    '# written by crossforest lab: calmigrate reads and writes every home, freebusy reads every collection,',
    '# users own their own home; the shared meeting-rooms calendar is written and read by a few colleagues',
    `[calmigrate-root]\nuser: ${CALMIGRATE_USER}\ncollection:\npermissions: R`,
    `[calmigrate-homes]\nuser: ${CALMIGRATE_USER}\ncollection: [^/]+\npermissions: RW`,
    `[calmigrate-collections]\nuser: ${CALMIGRATE_USER}\ncollection: [^/]+/[^/]+\npermissions: rw`,
    `[freebusy-root]\nuser: ${FREEBUSY_USER}\ncollection:\npermissions: R`,
    `[freebusy-principals]\nuser: ${FREEBUSY_USER}\ncollection: [^/]+\npermissions: R`,
    `[freebusy-calendars]\nuser: ${FREEBUSY_USER}\ncollection: [^/]+/[^/]+\npermissions: r`,
  ];
  if (shared) {
    const who = (upns: string[]) => `(${upns.map(regexEscape).join('|')})`;
    const owner = regexEscape(shared.owner);
    const delegates = [...shared.writers, ...shared.readers];
    if (shared.writers.length) {
      sections.push(`[shared-writers]\nuser: ${who(shared.writers)}\ncollection: ${owner}/${shared.collection}\npermissions: rw`);
    }
    if (shared.readers.length) {
      sections.push(`[shared-readers]\nuser: ${who(shared.readers)}\ncollection: ${owner}/${shared.collection}\npermissions: r`);
    }
    // The owner's home lists only what each delegate may read: the shared calendar.
    if (delegates.length) sections.push(`[shared-home]\nuser: ${who(delegates)}\ncollection: ${owner}\npermissions: R`);
  }
  sections.push(
    '[root]\nuser: .+\ncollection:\npermissions: R',
    '[principal]\nuser: .+\ncollection: {user}\npermissions: RW',
    '[calendars]\nuser: .+\ncollection: {user}/[^/]+\npermissions: rw',
  );
  return `${sections.join('\n\n')}\n`;
}

function config(id: ForestId, p: RadicalePaths): string {
  return `# written by crossforest lab (forest ${id.toUpperCase()})
[server]
hosts = 127.0.0.1:${RADICALE_PORTS[id]}
max_connections = 20
timeout = 30
# Forest B takes items up to ${RADICALE_MAX_ITEM_BYTES.b} bytes (A: Radicale's default, 100 MB), like a
# receiving organization's size limit: a calendar copy meets an object the target refuses.
max_content_length = ${RADICALE_MAX_ITEM_BYTES[id]}

[auth]
type = htpasswd
htpasswd_filename = ${p.users}
htpasswd_encryption = md5
realm = crossforest lab forest ${id.toUpperCase()} CalDAV
delay = 0.5

[rights]
type = from_file
file = ${p.rights}

[storage]
filesystem_folder = ${p.collections}

[web]
type = none

[logging]
level = warning
mask_passwords = True
`;
}

/** Writes config, rights and htpasswd (every mailbox user of the forest, freebusy, calmigrate). */
export async function writeRadicaleConfig(ctx: LabContext, id: ForestId): Promise<RadicalePaths> {
  const p = radicalePaths(ctx.labDir, id);
  mkdirSync(p.collections, { recursive: true, mode: 0o700 });
  mkdirSync(join(ctx.labDir, 'secrets'), { recursive: true, mode: 0o700 });
  const freebusyHash = await apr1(ensureSecretFile(p.secret));
  const calmigrateHash = await apr1(ensureSecretFile(p.calmigrateSecret));
  // Every sample user has the same password (users.pw), so one hash serves them all.
  const userHash = await apr1(readSecret(ctx.labDir, 'users.pw'));
  const users = mailboxUsers(id, ctx.size, ctx.seed);
  const lines = [`${FREEBUSY_USER}:${freebusyHash}`, `${CALMIGRATE_USER}:${calmigrateHash}`, ...users.map((u) => `${u.upn}:${userHash}`)];
  writeFileSync(p.users, `${lines.join('\n')}\n`, { mode: 0o600 });
  writeFileSync(p.rights, rightsFile(sharedCalendarOf(id, users)));
  writeFileSync(p.conf, config(id, p));
  return p;
}

function state(p: RadicalePaths): { pid: number | null; alive: boolean } {
  const pid = readPidFile(p.pidFile);
  // Checked against the command line so a recycled PID is never taken for ours.
  const alive = pid !== null && isAlive(pid) && pidOwnedBy(pid, 'radicale', p.conf);
  return { pid: alive ? pid : null, alive };
}

function tail(path: string): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ');
}

async function start(id: ForestId, p: RadicalePaths): Promise<number> {
  const port = RADICALE_PORTS[id];
  if (await portOpen('127.0.0.1', port)) {
    throw new LabError(`radicale forest ${id.toUpperCase()}: port 127.0.0.1:${port} is already in use by another process`, {
      object: `127.0.0.1:${port}`,
      hint: `find it with \`ss -ltnp 'sport = :${port}'\` and stop it`,
    });
  }
  const out = openSync(p.logFile, 'a');
  const [cmd, ...args] = RADICALE_COMMAND;
  const child = spawn(cmd, [...args, '--config', p.conf], { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  const pid = child.pid;
  if (pid === undefined)
    throw new LabError(`radicale forest ${id.toUpperCase()} could not start`, { hint: 'is the Debian package radicale installed?' });
  writeFileSync(p.pidFile, `${pid}\n`);
  const ok = await waitFor(async () => (!isAlive(pid) ? 'dead' : (await portOpen('127.0.0.1', port)) ? 'up' : null), 15_000);
  if (ok !== 'up') {
    if (isAlive(pid)) await stopPid(pid, 5_000);
    throw new LabError(`radicale forest ${id.toUpperCase()} did not come up on 127.0.0.1:${port}: ${tail(p.logFile)}`, {
      object: p.conf,
      hint: `see ${p.logFile}`,
    });
  }
  return pid;
}

/** Stops the forest's Radicale if it runs (our PID file + command line) and removes the PID file. */
async function stop(id: ForestId, p: RadicalePaths): Promise<void> {
  const s = state(p);
  if (s.alive && s.pid !== null && !(await stopPid(s.pid, 10_000))) {
    throw new LabError(`radicale forest ${id.toUpperCase()} (pid ${s.pid}) did not exit`, {
      object: String(s.pid),
      hint: `kill -9 ${s.pid}`,
    });
  }
  rmSync(p.pidFile, { force: true });
}

function status(ctx: LabContext, id: ForestId): RadicaleStatus {
  const p = radicalePaths(ctx.labDir, id);
  const s = state(p);
  return {
    name: `radicale-${id}`,
    forest: id,
    endpoints: { caldav: `127.0.0.1:${RADICALE_PORTS[id]}` },
    url: radicaleUrl(id),
    pid: s.pid,
    alive: s.alive,
    dataDir: p.collections,
    secretFile: p.secret,
    calmigrateSecretFile: p.calmigrateSecret,
    details: {
      conf: p.conf,
      log: p.logFile,
      rights: p.rights,
      freebusyUser: FREEBUSY_USER,
      freebusyAccess: 'read every collection',
      freebusySecretFile: p.secret,
      calmigrateUser: CALMIGRATE_USER,
      calmigrateAccess: 'read and write every home and collection',
      calmigrateSecretFile: p.calmigrateSecret,
      collections: radicaleCorpusSummary(readRadicaleManifest(ctx.labDir, id)),
    },
  };
}

/**
 * Makes sure the forest's generated collections are current (corpus.ts): when stale, stops
 * that Radicale (the storage is written directly) and regenerates them. Returns the new
 * manifest, or null when nothing had to be done.
 */
export async function ensureRadicaleCorpus(ctx: LabContext, id: ForestId, p: RadicalePaths): Promise<RadicaleCorpusManifest | null> {
  // The service accounts' own homes: without one, Radicale tries to create it at every
  // request and logs that their rights do not allow it.
  for (const user of [FREEBUSY_USER, CALMIGRATE_USER]) mkdirSync(join(p.collectionRoot, user), { recursive: true });
  const have = readRadicaleManifest(ctx.labDir, id);
  const first = have?.users[0];
  const why =
    radicaleCorpusStale(have, ctx.size, ctx.seed) ??
    (first?.collections[0] && !existsSync(join(p.collectionRoot, first.upn, first.collections[0].name)) ? 'collections missing' : null);
  if (why === null) return null;
  await stop(id, p);
  const m = regenerateRadicaleCorpus(ctx.labDir, p.collectionRoot, id, ctx.size, ctx.seed);
  ctx.log.info({ forest: id, reason: why, ...m.totals, seconds: m.seconds }, 'radicale collections generated');
  return m;
}

/**
 * Starts both Radicale instances (idempotent; the htpasswd and rights files are re-read live
 * by Radicale), regenerating their collections first when stale.
 */
export async function radicaleUp(ctx: LabContext): Promise<RadicaleStatus[]> {
  for (const id of FOREST_IDS) {
    const p = await writeRadicaleConfig(ctx, id);
    await ensureRadicaleCorpus(ctx, id, p);
    if (!state(p).alive) await start(id, p);
  }
  return radicaleStatus(ctx);
}

/** Stops exactly the Radicale processes we started (PID file + command line). */
export async function radicaleDown(ctx: LabContext): Promise<void> {
  for (const id of FOREST_IDS) await stop(id, radicalePaths(ctx.labDir, id));
}

export async function radicaleStatus(ctx: LabContext): Promise<RadicaleStatus[]> {
  return FOREST_IDS.map((id) => status(ctx, id));
}
