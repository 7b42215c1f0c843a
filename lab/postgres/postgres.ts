// PostgreSQL (Debian's postgresql 15) as the lab's shared state engine: the way crossforest
// grows to many worker hosts (issue 12). One cluster of the lab's own under
// <labDir>/postgres on 127.0.0.1:5433 (5432 stays Debian's own cluster, which the lab never
// touches), run as the `postgres` OS user through `runuser` when we are root (PostgreSQL
// refuses to run as root), as the caller otherwise.
//
// Access: the `crossforest` role (superuser of this throw-away cluster: the tests create a
// fresh database per test) logs in over TCP with SCRAM-SHA-256 and the password in
// <labDir>/secrets/postgres.pw; the Unix socket lives in the cluster folder (0700, its
// owner only) with trust, for the lab's own administration.
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../src/util/errors.ts';
import type { LabContext, MailStoreStatus } from '../context.ts';
import { run } from '../proc.ts';
import { isAlive, portOpen } from '../process.ts';
import { ensureSecretFile } from '../secrets.ts';

export const POSTGRES_PORT = 5433;
export const POSTGRES_HOST = '127.0.0.1';
export const POSTGRES_ROLE = 'crossforest';
export const POSTGRES_DATABASE = 'crossforest';
const BIN = '/usr/lib/postgresql/15/bin';

export interface PostgresPaths {
  /** The cluster folder (PGDATA), owned by the postgres OS user. */
  data: string;
  logFile: string;
  /** Password of the crossforest role (first line), 0600. */
  secret: string;
}

export interface PostgresStatus extends MailStoreStatus {
  url: string;
  secretFile: string;
}

export function postgresPaths(labDir: string): PostgresPaths {
  return {
    data: join(labDir, 'postgres'),
    logFile: join(labDir, 'postgres.log'),
    secret: join(labDir, 'secrets', 'postgres.pw'),
  };
}

/** The state URL a project file names (the password comes from the secret file). */
export function postgresUrl(database = POSTGRES_DATABASE): string {
  return `postgres://${POSTGRES_ROLE}@${POSTGRES_HOST}:${POSTGRES_PORT}/${database}`;
}

const asRoot = (): boolean => process.getuid?.() === 0;

/** The cluster's owner: `postgres` when we are root, the caller otherwise. */
function owner(): { uid: number; gid: number } | undefined {
  if (!asRoot()) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid)
    throw new LabError('the postgres OS user does not exist', { object: 'postgres', hint: 'install the Debian package postgresql' });
  return { uid: Number(uid), gid: Number(gid) };
}

/** A PostgreSQL program as the cluster's owner. */
function pg(program: string, args: readonly string[], what: string, input?: string) {
  const cmd = join(BIN, program);
  if (!existsSync(cmd))
    throw new LabError(`${cmd} is missing`, { object: cmd, hint: 'install the Debian package postgresql (scripts/setup.sh does)' });
  return asRoot()
    ? run('runuser', ['-u', 'postgres', '--', cmd, ...args], { what, timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) })
    : run(cmd, args, { what, timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
}

function postmasterPid(p: PostgresPaths): number | null {
  try {
    const pid = Number(readFileSync(join(p.data, 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

const CONFIG = (p: PostgresPaths): string => `# written by crossforest lab
listen_addresses = '${POSTGRES_HOST}'
port = ${POSTGRES_PORT}
unix_socket_directories = '${p.data}'
max_connections = 200
shared_buffers = 128MB
password_encryption = scram-sha-256
# A lab on a laptop: durability of the lab's own data is not the point, speed is.
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
# A client that gives up in the middle of logging in (the tests' "no password" case) leaves a
# backend waiting for it this long, and DROP DATABASE … WITH (FORCE) waits for that backend:
# 60 s by default, a minute of every test run.
authentication_timeout = 3s
`;

const HBA = `# written by crossforest lab: the socket (in the 0700 cluster folder) for the lab itself,
# TCP on loopback with a password for crossforest.
local all all trust
host all all 127.0.0.1/32 scram-sha-256
`;

async function initCluster(p: PostgresPaths, password: string): Promise<void> {
  rmSync(p.data, { recursive: true, force: true });
  mkdirSync(p.data, { recursive: true, mode: 0o700 });
  const o = owner();
  if (o) chownSync(p.data, o.uid, o.gid);
  // initdb reads the superuser's password from a file: one only the owner reads, gone after.
  const pwfile = `${p.data}.pwfile`;
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (o) chownSync(pwfile, o.uid, o.gid);
  try {
    const r = await pg(
      'initdb',
      [
        '-D',
        p.data,
        '-U',
        POSTGRES_ROLE,
        `--pwfile=${pwfile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C.UTF-8',
      ],
      'postgres initdb',
    );
    if (r.code !== 0) throw new LabError(`initdb failed: ${r.stderr.trim().slice(-400)}`, { object: p.data });
  } finally {
    rmSync(pwfile, { force: true });
  }
  for (const [file, text] of [
    ['postgresql.auto.conf', CONFIG(p)],
    ['pg_hba.conf', HBA],
  ] as const) {
    writeFileSync(join(p.data, file), text, { mode: 0o600 });
    if (o) chownSync(join(p.data, file), o.uid, o.gid);
  }
}

/** Starts the lab's cluster (idempotent): creates it on first use, and the crossforest database. */
export async function postgresUp(ctx: Pick<LabContext, 'labDir'>): Promise<PostgresStatus> {
  const p = postgresPaths(ctx.labDir);
  mkdirSync(join(ctx.labDir, 'secrets'), { recursive: true, mode: 0o700 });
  const password = ensureSecretFile(p.secret);
  if (!existsSync(join(p.data, 'PG_VERSION'))) await initCluster(p, password);
  if (postmasterPid(p) === null) {
    if (await portOpen(POSTGRES_HOST, POSTGRES_PORT))
      throw new LabError(`postgres: port ${POSTGRES_HOST}:${POSTGRES_PORT} is already in use by another process`, {
        object: `${POSTGRES_HOST}:${POSTGRES_PORT}`,
        hint: `find it with \`ss -ltnp 'sport = :${POSTGRES_PORT}'\` and stop it`,
      });
    // The log beside the cluster, writable by its owner.
    writeFileSync(p.logFile, '', { flag: 'a' });
    const o = owner();
    if (o) chownSync(p.logFile, o.uid, o.gid);
    const r = await pg('pg_ctl', ['-D', p.data, '-l', p.logFile, '-w', '-t', '60', 'start'], 'postgres start');
    if (r.code !== 0)
      throw new LabError(`postgres did not start: ${(r.stderr || r.stdout).trim().slice(-300)}`, {
        object: p.data,
        hint: `see ${p.logFile}`,
      });
  }
  const exists = await pg(
    'psql',
    [
      '-h',
      p.data,
      '-p',
      String(POSTGRES_PORT),
      '-U',
      POSTGRES_ROLE,
      '-d',
      'postgres',
      '-tAc',
      `SELECT 1 FROM pg_database WHERE datname = '${POSTGRES_DATABASE}'`,
    ],
    'postgres psql',
  );
  if (exists.stdout.trim() !== '1') {
    const r = await pg(
      'createdb',
      ['-h', p.data, '-p', String(POSTGRES_PORT), '-U', POSTGRES_ROLE, POSTGRES_DATABASE],
      'postgres createdb',
    );
    if (r.code !== 0) throw new LabError(`createdb ${POSTGRES_DATABASE} failed: ${r.stderr.trim()}`, { object: p.data });
  }
  return postgresStatus(ctx);
}

/** Stops the lab's cluster (fast shutdown: sessions are cut, nothing is lost). */
export async function postgresDown(ctx: Pick<LabContext, 'labDir'>): Promise<string[]> {
  const p = postgresPaths(ctx.labDir);
  const pid = postmasterPid(p);
  if (pid === null) return [];
  const r = await pg('pg_ctl', ['-D', p.data, '-m', 'fast', '-w', '-t', '60', 'stop'], 'postgres stop');
  if (r.code !== 0)
    throw new LabError(`postgres (pid ${pid}) did not stop: ${r.stderr.trim()}`, { object: p.data, hint: `kill -INT ${pid}` });
  return [`postgres (pid ${pid})`];
}

export function postgresStatus(ctx: Pick<LabContext, 'labDir'>): PostgresStatus {
  const p = postgresPaths(ctx.labDir);
  const pid = postmasterPid(p);
  return {
    name: 'postgres',
    forest: 'a',
    endpoints: { postgres: `${POSTGRES_HOST}:${POSTGRES_PORT}` },
    url: postgresUrl(),
    pid,
    alive: pid !== null,
    dataDir: p.data,
    secretFile: p.secret,
    details: { log: p.logFile, role: POSTGRES_ROLE, database: POSTGRES_DATABASE, shared: 'state of every forest' },
  };
}
