// One Dovecot instance of the lab: write its config files, start it (`dovecot -F` under
// our own detached child, so we know the PID), check it, stop it by that PID, and run
// doveadm against it (every doveadm call needs the same `-c`).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { LabError } from '../../src/util/errors.ts';
import { type RunOptions, type RunResult, run } from '../proc.ts';
import { isAlive, pidOwnedBy, portOpen, readPidFile, stopPid, waitFor } from '../process.ts';
import type { LabCertificates } from '../tls.ts';
import { dovecotConfig } from './dovecotConfig.ts';
import { type AuthDirectory, ldapConfig } from './ldapConfig.ts';
import { clientPorts, type StoreDef, type StorePaths, storePaths } from './stores.ts';
import { systemUser } from './systemUser.ts';

export interface DovecotSecrets {
  /** Password of the master user `admin`. */
  masterPassword: string;
  /** Password of the directory's galsync account, for the LDAP search bind. */
  searchPassword: string;
}

function label(store: StoreDef): string {
  return `dovecot store ${store.key.toUpperCase()}`;
}

/** Our PID file (the child we spawned), beside the config. */
function pidFile(paths: StorePaths): string {
  return join(paths.dir, 'dovecot.pid');
}

/**
 * Unix socket paths are limited to 108 bytes: when the lab folder is deep (a test's
 * temporary lab), base_dir moves to a short folder in /tmp named after the config path.
 */
export function resolveBaseDir(paths: StorePaths): StorePaths {
  if (Buffer.byteLength(paths.baseDir) <= 70) return paths;
  const h = createHash('sha256').update(paths.conf).digest('hex').slice(0, 12);
  return { ...paths, baseDir: join(tmpdir(), `crossforest-dovecot-${h}`) };
}

/** Writes dovecot.conf, dovecot-ldap.conf.ext (0600) and the master-user file; checks with doveconf. */
export interface WrittenConfig {
  paths: StorePaths;
  /** True when the config differs from what the running instance was started with. */
  changed: boolean;
}

/** Where we remember which config the running instance was started with. */
function startedWith(paths: StorePaths): string {
  return join(paths.dir, 'started-with.sha256');
}

export async function writeDovecotConfig(
  labDir: string,
  store: StoreDef,
  directory: AuthDirectory,
  tls: LabCertificates,
  secrets: DovecotSecrets,
): Promise<WrittenConfig> {
  const paths = resolveBaseDir(storePaths(labDir, store.key));
  const mail = systemUser('mail');
  const dovecot = systemUser('dovecot');
  // 0711: the auth process (user `dovecot`) must reach master-users; listing stays closed.
  mkdirSync(paths.dir, { recursive: true, mode: 0o711 });
  chmodSync(join(paths.dir, '..'), 0o711);
  chmodSync(paths.dir, 0o711);
  mkdirSync(paths.stateDir, { recursive: true, mode: 0o750 });
  mkdirSync(paths.mailRoot, { recursive: true, mode: 0o750 });
  chownSync(paths.mailRoot, mail.uid, mail.gid);
  // The auth process (user `dovecot`) opens the CA file itself and cannot enter .lab/tls/
  // (0700): it gets a world-readable copy of the certificate (public) beside the config.
  if (directory.caFile) {
    const ca = join(paths.dir, 'ldap-ca.crt');
    writeFileSync(ca, readFileSync(directory.caFile), { mode: 0o644 });
    chmodSync(ca, 0o644);
    directory = { ...directory, caFile: ca };
  }
  writeFileSync(
    paths.ldapConf,
    ldapConfig({ directory, paths, searchPassword: secrets.searchPassword, mailUid: mail.uid, mailGid: mail.gid, homeMDB: store.homeMDB }),
    { mode: 0o600 },
  );
  // Read by the auth process, which runs as the `dovecot` user: owned by it, 0600.
  writeFileSync(paths.masterUsers, `admin:{PLAIN}${secrets.masterPassword}\n`, { mode: 0o600 });
  chownSync(paths.masterUsers, dovecot.uid, dovecot.gid);
  writeFileSync(paths.conf, dovecotConfig({ store, paths, tls, mailUid: mail.uid, mailGid: mail.gid }), { mode: 0o600 });
  const fingerprint = createHash('sha256')
    .update(readFileSync(paths.conf))
    .update(readFileSync(paths.ldapConf))
    .update(readFileSync(paths.masterUsers))
    .digest('hex');
  const check = await run('doveconf', ['-c', paths.conf, '-n'], { allowFailure: true, what: label(store) });
  if (check.code !== 0) {
    throw new LabError(`${label(store)}: doveconf rejects ${paths.conf}: ${check.stderr.trim().split('\n').slice(-3).join(' | ')}`, {
      object: paths.conf,
      hint: 'the generated config is wrong (lab/mailstore/dovecotConfig.ts); run `doveconf -c FILE -n` for details',
    });
  }
  const previous = existsSync(startedWith(paths)) ? readFileSync(startedWith(paths), 'utf8') : '';
  writeFileSync(join(paths.dir, 'config.sha256'), fingerprint);
  return { paths, changed: previous !== fingerprint };
}

export interface DovecotState {
  pid: number | null;
  alive: boolean;
}

export function dovecotState(paths: StorePaths): DovecotState {
  const pid = readPidFile(pidFile(paths));
  const alive = pid !== null && isAlive(pid) && pidOwnedBy(pid, 'dovecot', paths.conf);
  return { pid: alive ? pid : null, alive };
}

function tail(path: string, n = 3): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').trim().split('\n').slice(-n).join(' | ');
}

/** Starts Dovecot in the foreground under a detached child and waits for both ports. */
export async function startDovecot(store: StoreDef, paths: StorePaths, log: Logger): Promise<number> {
  const state = dovecotState(paths);
  if (state.alive && state.pid !== null) return state.pid;
  rmSync(pidFile(paths), { force: true });
  const ports = Object.values(clientPorts(store));
  for (const port of ports) {
    if (await portOpen(store.host, port)) {
      throw new LabError(`${label(store)}: port ${store.host}:${port} is already in use by another process`, {
        object: `${store.host}:${port}`,
        hint: `find it with \`ss -ltnp 'sport = :${port}'\` and stop it (or run \`crossforest lab down\` if it is an older lab)`,
      });
    }
  }
  const out = openSync(paths.consoleLog, 'a');
  const child = spawn('dovecot', ['-F', '-c', paths.conf], { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  const pid = child.pid;
  if (pid === undefined)
    throw new LabError(`${label(store)}: could not start dovecot`, { hint: 'is dovecot-core installed (/usr/sbin/dovecot)?' });
  writeFileSync(pidFile(paths), `${pid}\n`);
  const current = join(paths.dir, 'config.sha256');
  if (existsSync(current)) writeFileSync(startedWith(paths), readFileSync(current));
  const ok = await waitFor(async () => {
    if (!isAlive(pid)) return 'dead';
    for (const port of ports) if (!(await portOpen(store.host, port))) return null;
    return 'up';
  }, 15_000);
  if (ok !== 'up') {
    if (isAlive(pid)) await stopPid(pid, 5_000);
    const why = tail(paths.consoleLog) || tail(paths.logFile);
    throw new LabError(`${label(store)} did not come up on ${store.host}:${ports.join('/')}${why ? `: ${why}` : ''}`, {
      object: paths.conf,
      hint: `see ${paths.logFile} and ${paths.consoleLog}; check the config with \`doveconf -c ${paths.conf} -n\``,
    });
  }
  log.debug({ store: store.name, pid }, 'dovecot started');
  return pid;
}

export async function stopDovecot(store: StoreDef, paths: StorePaths, log: Logger): Promise<boolean> {
  const state = dovecotState(paths);
  if (!state.alive || state.pid === null) {
    rmSync(pidFile(paths), { force: true });
    return false;
  }
  // The master stops its children on SIGTERM; wait for it so the ports are free.
  if (!(await stopPid(state.pid, 15_000))) {
    throw new LabError(`${label(store)} (pid ${state.pid}) did not exit`, {
      object: String(state.pid),
      hint: `kill -9 ${state.pid}, then run \`crossforest lab up\``,
    });
  }
  rmSync(pidFile(paths), { force: true });
  log.debug({ store: store.name, pid: state.pid }, 'dovecot stopped');
  return true;
}

/** Runs `doveadm -c <conf> …` for this store. */
export function doveadm(paths: StorePaths, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('doveadm', ['-c', paths.conf, ...args], { what: 'doveadm', timeoutMs: 120_000, ...opts });
}
