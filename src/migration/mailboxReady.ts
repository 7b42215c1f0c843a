// Waiting until a mail store serves a mailbox after its directory entry changed (the seed's
// "Failed to set basic mailbox information, will retry in 60 seconds"): the store reads the
// directory through its own caches and replicas, so the new state shows after a while. A
// wait, polled at the batch's retry interval, that fails only after the batch's
// mailboxReadyTimeoutSeconds. Pre-stage waits for the target store with it, rollback for
// the source store.
import type { MailEndpoint } from '../mail/types.ts';
import type { StepContext } from './stepContext.ts';
import { sleep } from './stepContext.ts';

export interface ServedWait {
  /** The mailbox as the batch names it (live events). */
  mailbox: string;
  /** What is waited for, for events and logs: "source store serves jdoe@a.test". */
  what: string;
  /** Builds the error thrown when the time is up, from the last login failure. */
  timedOut(lastError: Error, timeoutSeconds: number): Error;
}

/** Polls until the endpoint logs the mailbox in (as the master user); returns the number of polls. */
export async function waitUntilServed(
  ctx: Pick<StepContext, 'batch' | 'emit' | 'logger'>,
  endpoint: Pick<MailEndpoint, 'open'>,
  w: ServedWait,
): Promise<number> {
  const { retryIntervalSeconds, mailboxReadyTimeoutSeconds } = ctx.batch.options;
  const deadline = Date.now() + mailboxReadyTimeoutSeconds * 1000;
  for (let polls = 1; ; polls++) {
    try {
      const c = await endpoint.open();
      await c.logout().catch(() => c.close());
      return polls;
    } catch (err) {
      if (Date.now() > deadline) throw w.timedOut(err as Error, mailboxReadyTimeoutSeconds);
      ctx.emit({ type: 'wait', mailbox: w.mailbox, what: `waiting until the ${w.what}`, nextPollSeconds: retryIntervalSeconds });
      ctx.logger.info({ mailbox: w.mailbox, retryIn: retryIntervalSeconds }, `waiting until the ${w.what}`);
      await sleep(retryIntervalSeconds * 1000);
    }
  }
}
