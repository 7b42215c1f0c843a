// The batch lease: one process at a time works a batch (runs it, or resends its notices),
// over every process and host sharing the state store.
import { newLeaseHolder, type StateStore } from '../state/store.ts';
import { MigrationError } from './setup.ts';

const BATCH_LEASE_MS = 60_000;

/**
 * Runs `fn` holding the batch's lease: one runner per batch over every process and host
 * sharing the state store. Anything else that sends a batch's notices (`batch notices
 * --resend`) takes it too, so it never picks up a row the runner is sending.
 */
export async function withBatchLease<T>(store: StateStore, name: string, fn: () => Promise<T>): Promise<T> {
  const lease = `migration-batch:${name}`;
  const holder = newLeaseHolder();
  if (!(await store.takeLease(lease, holder, BATCH_LEASE_MS))) {
    throw new MigrationError(
      'CF_ERR_BATCH_RUNNING',
      `batch ${name} is being run by ${(await store.leaseHolder(lease))?.holder ?? 'another process'}`,
      {
        object: name,
        hint: 'wait for it, or `batch suspend` it; a crashed runner on another host frees the batch within a minute',
      },
    );
  }
  const renew = setInterval(() => store.renewLease(lease, holder, BATCH_LEASE_MS).catch(() => {}), BATCH_LEASE_MS / 3);
  renew.unref();
  try {
    return await fn();
  } finally {
    clearInterval(renew);
    await store.releaseLease(lease, holder);
  }
}
