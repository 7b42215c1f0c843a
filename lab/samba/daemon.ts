// Starting and stopping one Samba DC: `samba -D -M single -s <smb.conf>`, by the PID
// Samba writes into our own pid directory; a PID is signalled only while its command
// line still names our smb.conf, so a recycled PID is never hit.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Logger } from 'pino';
import { LabError } from '../../src/util/errors.ts';
import { run } from '../proc.ts';
import { isAlive, portOpen, readPidFile, stopPid, waitFor } from '../process.ts';
import type { SambaDc, SambaPaths } from './dcs.ts';

export interface SambaState {
  pid: number | null;
  alive: boolean;
}

/**
 * Samba rewrites its process title ("samba: root process"), so the command line no
 * longer names our smb.conf: a PID is ours when it runs /usr/sbin/samba and holds a
 * file open inside our DC folder (its log, sam.ldb …).
 */
function ownedSamba(pid: number, dir: string): boolean {
  try {
    if (!readlinkSync(`/proc/${pid}/exe`).endsWith('/samba')) return false;
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(`${dir}/`);
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

export function sambaState(paths: SambaPaths): SambaState {
  const pid = readPidFile(paths.pidFile);
  const alive = pid !== null && isAlive(pid) && ownedSamba(pid, paths.dir);
  return { pid: alive ? pid : null, alive };
}

function logTail(path: string, n = 6): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-n).join(' | ');
  } catch {
    return '(no log)';
  }
}

/** Starts the DC and waits until ldap and ldaps accept connections. Returns the PID. */
export async function startSamba(dc: SambaDc, paths: SambaPaths, log: Logger, confPath = paths.smbConf): Promise<number> {
  if (await portOpen(dc.host, 389)) {
    throw new LabError(`cannot start Samba DC ${dc.realm}: something already listens on ${dc.host}:389`, {
      object: `${dc.host}:389`,
      hint: 'another lab folder may run this DC: run `crossforest lab down` there (or CROSSFOREST_LAB_DIR=… crossforest lab down)',
    });
  }
  await run('samba', ['-D', '-M', 'single', '-s', confPath], { what: `Samba DC ${dc.realm}`, timeoutMs: 30_000 });
  const up = await waitFor(async () => {
    const pid = readPidFile(paths.pidFile);
    if (pid === null || !isAlive(pid)) return null;
    return (await portOpen(dc.host, 389)) && (await portOpen(dc.host, 636)) ? pid : null;
  }, 30_000);
  if (up === null) {
    throw new LabError(`Samba DC ${dc.realm} did not start listening on ${dc.host}:389/636 within 30 s`, {
      object: confPath,
      hint: `see ${paths.logFile}: ${logTail(paths.logFile)}`,
    });
  }
  log.info({ pid: up, realm: dc.realm }, 'samba started');
  return up;
}

/** Stops the DC we started (by PID). Returns false when nothing of ours was running. */
export async function stopSamba(dc: SambaDc, paths: SambaPaths, log: Logger): Promise<boolean> {
  const { pid, alive } = sambaState(paths);
  if (!alive || pid === null) return false;
  if (!(await stopPid(pid, 15_000))) {
    throw new LabError(`Samba DC ${dc.realm} (pid ${pid}) does not stop`, { object: String(pid), hint: `kill ${pid} by hand` });
  }
  // samba's children (in -M single there are few) exit with the parent; wait for the port.
  await waitFor(async () => ((await portOpen(dc.host, 389)) ? null : true), 10_000);
  log.info({ pid, realm: dc.realm }, 'samba stopped');
  return true;
}

export function sambaInstalled(): boolean {
  return ['/usr/sbin/samba', '/usr/bin/samba-tool'].every((p) => existsSync(p));
}

/** `Version 4.17.12-Debian` → `4.17.12-Debian`; part of the provisioning cache key. */
export async function sambaVersion(): Promise<string> {
  const r = await run('samba', ['-V'], { what: 'samba -V' });
  return r.stdout.trim().replace(/^Version\s+/i, '');
}
