// Concurrency limits per source store and per target store, over every batch and every
// process that shares the state store: a mailbox in flight holds one numbered lease of
// each (`migration-slot:source:a:3`). Leases expire, so a killed process frees its slots.
import type { StateStore } from '../state/store.ts';
import { newLeaseHolder } from '../state/store.ts';
import { mailboxLeaseMs } from './mailboxLease.ts';
import { sleep } from './stepContext.ts';

export interface SlotPool {
  name: string;
  size: number;
}

export interface HeldSlots {
  release(): Promise<void>;
}

async function tryTake(store: StateStore, pool: SlotPool, holder: string): Promise<string | undefined> {
  for (let i = 0; i < pool.size; i++) {
    const lease = `migration-slot:${pool.name}:${i}`;
    // A slot lives as long as a mailbox lease: a dead worker's slots free up with its mailboxes.
    if (await store.takeLease(lease, holder, mailboxLeaseMs())) return lease;
  }
  return undefined;
}

/** Waits until one slot of every pool is free and takes them all (all or none, no deadlock). */
export async function takeSlots(
  store: StateStore,
  pools: SlotPool[],
  opts: { pollMs?: number; onWait?: () => void; cancelled?: () => Promise<boolean> } = {},
): Promise<HeldSlots | undefined> {
  const holder = newLeaseHolder();
  let waited = false;
  for (;;) {
    const taken: string[] = [];
    for (const p of pools) {
      const lease = await tryTake(store, p, holder);
      if (!lease) break;
      taken.push(lease);
    }
    if (taken.length === pools.length) {
      const TTL_MS = mailboxLeaseMs();
      const timer = setInterval(() => {
        // A failed renewal is retried at the next tick; the lease outlives two of them.
        for (const l of taken) store.renewLease(l, holder, TTL_MS).catch(() => {});
      }, TTL_MS / 3);
      timer.unref();
      return {
        async release() {
          clearInterval(timer);
          for (const l of taken) await store.releaseLease(l, holder);
        },
      };
    }
    for (const l of taken) await store.releaseLease(l, holder);
    if (await opts.cancelled?.()) return undefined;
    if (!waited) opts.onWait?.();
    waited = true;
    await sleep((opts.pollMs ?? 250) + Math.floor(Math.random() * 100));
  }
}
