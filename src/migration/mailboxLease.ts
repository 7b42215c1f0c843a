// One worker per mailbox at a time, over every process and host sharing the state store:
// whoever works a mailbox holds the lease `migration-mailbox:<id>`, renewed by heartbeat.
// A renewal that finds the lease gone (this process stalled past the TTL and another
// worker took the mailbox over) marks the claim lost: the pipeline then records nothing
// more for that mailbox (`assertHeld` before each step's bookkeeping) and stops; the new
// holder repeats the interrupted step, which is idempotent.
//
// A lease that expired without a release is a dead worker's: the reaper of
// distributed.ts finds those and puts the mailbox back in the queue.
import { newLeaseHolder, type StateStore } from '../state/store.ts';
import { closeDanglingStepsOf } from './batchStore.ts';
import { MigrationError } from './setup.ts';

export const MAILBOX_LEASE_PREFIX = 'migration-mailbox:';

/** Lease time: a killed worker's mailboxes are free again within this (plus one reaper pass). */
export function mailboxLeaseMs(): number {
  const s = Number(process.env.CROSSFOREST_MAILBOX_LEASE_SECONDS);
  return Number.isFinite(s) && s >= 3 ? s * 1000 : 30_000;
}

export interface MailboxClaim {
  readonly holder: string;
  /** True once a renewal found the lease taken by someone else. */
  lost(): boolean;
  /** Throws when the claim was lost: nothing more may be recorded for the mailbox. */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

export const mailboxLeaseName = (id: number): string => `${MAILBOX_LEASE_PREFIX}${id}`;

/** Takes the mailbox, or returns undefined while another live worker has it. */
export async function claimMailbox(store: StateStore, id: number, login: string): Promise<MailboxClaim | undefined> {
  const name = mailboxLeaseName(id);
  const holder = newLeaseHolder();
  const ttl = mailboxLeaseMs();
  if (!(await store.takeLease(name, holder, ttl))) return undefined;
  // Ours now: a step still marked running was run by a worker that is gone.
  await closeDanglingStepsOf(store, id);
  let lost = false;
  const renew = setInterval(() => {
    store
      .renewLease(name, holder, ttl)
      .then((held) => {
        if (!held) lost = true;
      })
      // A failed renewal (the database briefly away) is retried; the lease outlives two.
      .catch(() => {});
  }, ttl / 3);
  renew.unref();
  const lostError = () =>
    new MigrationError('CF_ERR_MAILBOX_LEASE_LOST', `the lease on mailbox ${login} was lost: another worker has taken it over`, {
      object: login,
      hint: 'nothing more is recorded by this worker; the new holder repeats the interrupted step (check this host for stalls: swap, a frozen VM)',
    });
  return {
    holder,
    lost: () => lost,
    async assertHeld() {
      if (lost) throw lostError();
      // Checked against the database, not only the last heartbeat: a stalled process must
      // not record a step another worker is already repeating.
      const h = await store.leaseHolder(name);
      if (h?.holder !== holder) {
        lost = true;
        throw lostError();
      }
    },
    async release() {
      clearInterval(renew);
      await store.releaseLease(name, holder);
    },
  };
}
