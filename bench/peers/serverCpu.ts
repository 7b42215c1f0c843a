// CPU seconds spent by a lab Dovecot (master, its living children, and the children it has
// reaped) read from /proc: the bench reports what the servers themselves cost per pass, so a
// ratio against a peer can be read against the bound the servers set (2 cores here).
import { readdirSync, readFileSync } from 'node:fs';

const TICK = 100; // USER_HZ on Linux

function stat(pid: number): { ppid: number; self: number; reaped: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command's closing parenthesis: state ppid … utime(14) stime(15) cutime(16) cstime(17).
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const n = (i: number): number => Number(f[i - 3]);
    return { ppid: n(4), self: (n(14) + n(15)) / TICK, reaped: (n(16) + n(17)) / TICK };
  } catch {
    return undefined;
  }
}

/** CPU seconds of the process tree under `pid`, including children already reaped. */
export function treeCpuSeconds(pid: number): number {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const byParent = new Map<number, number[]>();
  const stats = new Map<number, NonNullable<ReturnType<typeof stat>>>();
  for (const p of all) {
    const s = stat(p);
    if (!s) continue;
    stats.set(p, s);
    byParent.set(s.ppid, [...(byParent.get(s.ppid) ?? []), p]);
  }
  let total = 0;
  const walk = (p: number): void => {
    const s = stats.get(p);
    if (!s) return;
    total += s.self + s.reaped;
    for (const c of byParent.get(p) ?? []) walk(c);
  };
  walk(pid);
  return total;
}
