// Leases with take-over from a dead holder: a process of this host killed with SIGKILL
// never releases its leases, and waiting out their TTL would stall `batch resume` for a
// minute. A holder on another host is left alone until its lease expires.
// (src/mail/copyMailbox.ts has the same rule privately; one shared helper in src/state
// would serve both: noted for the state store's owner.)
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { StateStore } from '../state/store.ts';

export const newHolder = (): string => `${hostname()}:${process.pid}:${randomUUID()}`;

export function holderIsDead(holder: string): boolean {
  const m = /^(.*):(\d+):[0-9a-f-]+$/.exec(holder);
  if (!m || m[1] !== hostname()) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Takes the lease, or takes it over from a dead holder of this host; false if a live holder has it. */
export function takeLease(store: StateStore, name: string, holder: string, ttlMs: number): boolean {
  if (store.acquireLease(name, holder, ttlMs)) return true;
  const h = store.leaseHolder(name);
  if (!h || !holderIsDead(h.holder)) return false;
  store.releaseLease(name, h.holder);
  return store.acquireLease(name, holder, ttlMs);
}
