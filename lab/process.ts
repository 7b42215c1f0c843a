// PIDs and ports: the lab stops exactly the processes it started (checked against
// /proc/<pid>/cmdline, so a recycled PID is never signalled) and waits for exit.
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

export function readPidFile(path: string): number | null {
  if (!existsSync(path)) return null;
  const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
  return Number.isInteger(n) && n > 1 ? n : null;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped) is not alive for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

/** True when the process's command line mentions every one of `needles`. */
export function pidOwnedBy(pid: number, ...needles: string[]): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    return needles.every((n) => cmdline.includes(n));
  } catch {
    return false;
  }
}

export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 50 ms until it returns non-null or `timeoutMs` passes. */
export async function waitFor<T>(probe: () => Promise<T | null> | T | null, timeoutMs: number): Promise<T | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > end) return null;
    await sleep(50);
  }
}

/** SIGTERM, wait, SIGKILL as a last resort. Returns false if it still lives. */
export async function stopPid(pid: number, timeoutMs: number): Promise<boolean> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return true;
  }
  if (await waitFor(() => (isAlive(pid) ? null : true), timeoutMs)) return true;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return true;
  }
  return (await waitFor(() => (isAlive(pid) ? null : true), 3_000)) === true;
}
