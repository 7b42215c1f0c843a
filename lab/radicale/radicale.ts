// Radicale (Debian's radicale 3.1.8) as each lab organization's CalDAV server: one
// instance per forest on 127.0.0.1:5231 (A) / 5232 (B), config and collections under
// <labDir>/radicale-a|b/. Auth: htpasswd (apr1-md5, verified by passlib from
// python3-passlib; hashes made with `openssl passwd -apr1`). Users log in with their
// userPrincipalName (the IMAP login); the `freebusy` service account may read every
// user's calendars and nothing else: that is what the coexistence service uses.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../src/util/errors.ts';
import type { LabContext, MailStoreStatus } from '../context.ts';
import { FOREST_IDS, type ForestId } from '../forests.ts';
import { samplePeople } from '../org/people.ts';
import { run } from '../proc.ts';
import { isAlive, pidOwnedBy, portOpen, readPidFile, stopPid, waitFor } from '../process.ts';
import { ensureSecretFile, readSecret } from '../secrets.ts';

export const RADICALE_PORTS: Record<ForestId, number> = { a: 5231, b: 5232 };
/** The read-everything service account of each Radicale. */
export const FREEBUSY_USER = 'freebusy';

export interface RadicalePaths {
  dir: string;
  conf: string;
  rights: string;
  users: string;
  collections: string;
  pidFile: string;
  logFile: string;
  /** Password of the freebusy account (first line), 0600, kept across restarts. */
  secret: string;
}

/** Shaped like a mail store's status so `lab status` and lab.json list it beside Dovecot. */
export interface RadicaleStatus extends MailStoreStatus {
  url: string;
  dataDir: string;
  secretFile: string;
}

export function radicalePaths(labDir: string, id: ForestId): RadicalePaths {
  const dir = join(labDir, `radicale-${id}`);
  return {
    dir,
    conf: join(dir, 'config'),
    rights: join(dir, 'rights'),
    users: join(dir, 'users'),
    collections: join(dir, 'collections'),
    pidFile: join(dir, 'radicale.pid'),
    logFile: join(dir, 'radicale.log'),
    secret: join(labDir, 'secrets', `radicale-${id}-freebusy.pw`),
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

// First matching section wins (Radicale's from_file rights); user and collection are full-match regexes.
const RIGHTS = `# written by crossforest lab: freebusy reads every calendar, users own their own tree
[freebusy-root]
user: ${FREEBUSY_USER}
collection:
permissions: R

[freebusy-principals]
user: ${FREEBUSY_USER}
collection: [^/]+
permissions: R

[freebusy-calendars]
user: ${FREEBUSY_USER}
collection: [^/]+/[^/]+
permissions: r

[root]
user: .+
collection:
permissions: R

[principal]
user: .+
collection: {user}
permissions: RW

[calendars]
user: .+
collection: {user}/[^/]+
permissions: rw
`;

function config(id: ForestId, p: RadicalePaths): string {
  return `# written by crossforest lab (forest ${id.toUpperCase()})
[server]
hosts = 127.0.0.1:${RADICALE_PORTS[id]}
max_connections = 20
timeout = 30

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

/** Writes config, rights and htpasswd (every mailbox user of the forest + freebusy). */
export async function writeRadicaleConfig(ctx: LabContext, id: ForestId): Promise<RadicalePaths> {
  const p = radicalePaths(ctx.labDir, id);
  mkdirSync(p.collections, { recursive: true, mode: 0o700 });
  mkdirSync(join(ctx.labDir, 'secrets'), { recursive: true, mode: 0o700 });
  const serviceHash = await apr1(ensureSecretFile(p.secret));
  // Every sample user has the same password (users.pw), so one hash serves them all.
  const userHash = await apr1(readSecret(ctx.labDir, 'users.pw'));
  const lines = [`${FREEBUSY_USER}:${serviceHash}`];
  for (const person of samplePeople(id, ctx.size, ctx.seed)) {
    if (person.hasMailbox) lines.push(`${person.upn}:${userHash}`);
  }
  writeFileSync(p.users, `${lines.join('\n')}\n`, { mode: 0o600 });
  writeFileSync(p.rights, RIGHTS);
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
  const child = spawn('/usr/bin/radicale', ['--config', p.conf], { detached: true, stdio: ['ignore', out, out] });
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
    details: { conf: p.conf, log: p.logFile, freebusyUser: FREEBUSY_USER },
  };
}

/** Starts both Radicale instances (idempotent; the htpasswd file is re-read live by Radicale). */
export async function radicaleUp(ctx: LabContext): Promise<RadicaleStatus[]> {
  for (const id of FOREST_IDS) {
    const p = await writeRadicaleConfig(ctx, id);
    if (!state(p).alive) await start(id, p);
  }
  return radicaleStatus(ctx);
}

/** Stops exactly the Radicale processes we started (PID file + command line). */
export async function radicaleDown(ctx: LabContext): Promise<void> {
  for (const id of FOREST_IDS) {
    const p = radicalePaths(ctx.labDir, id);
    const s = state(p);
    if (s.alive && s.pid !== null && !(await stopPid(s.pid, 10_000))) {
      throw new LabError(`radicale forest ${id.toUpperCase()} (pid ${s.pid}) did not exit`, {
        object: String(s.pid),
        hint: `kill -9 ${s.pid}`,
      });
    }
    rmSync(p.pidFile, { force: true });
  }
}

export async function radicaleStatus(ctx: LabContext): Promise<RadicaleStatus[]> {
  return FOREST_IDS.map((id) => status(ctx, id));
}
