// `batch notices`: what each user of a batch was told, and the operator's resend of the
// notices that did not go out (failed, missed, or — on request — unknown). The sending
// itself is notices.ts's, with its exactly-once bookkeeping: a notice recorded `sent` is
// never sent again.
import type { StateStore } from '../state/store.ts';
import type { Logger } from '../util/logger.ts';
import { withBatchLease } from './batchLease.ts';
import { mailboxesOf } from './batchStore.ts';
import { type NoticeKind, noticesOfBatch } from './noticeStore.ts';
import { type NoticeOutcome, sendNotices } from './notices.ts';
import { MigrationError, type MigrationSetup } from './setup.ts';
import type { Batch } from './types.ts';

export interface NoticeLine {
  mailbox: string;
  kind: NoticeKind;
  status: string;
  recipient: string;
  attempts: number;
  sentAt: string | null;
  warning: string | null;
}

export async function noticeLines(store: StateStore, batch: Batch): Promise<NoticeLine[]> {
  const logins = new Map((await mailboxesOf(store, batch.id)).map((m) => [m.id, m.sourceLogin]));
  return (await noticesOfBatch(store, batch.id)).map((n) => ({
    mailbox: logins.get(n.mailboxId) ?? String(n.mailboxId),
    kind: n.kind,
    status: n.status,
    recipient: n.recipient,
    attempts: n.attempts,
    sentAt: n.sentAt,
    warning: n.warning,
  }));
}

export interface ResendInput {
  /** Source login of one mailbox of the batch; all when absent. */
  mailbox?: string | undefined;
  kind?: NoticeKind | undefined;
  includeUnknown?: boolean | undefined;
  logger: Logger;
}

export async function resendNotices(setup: MigrationSetup, store: StateStore, batch: Batch, input: ResendInput): Promise<NoticeOutcome[]> {
  if (!setup.config.notices) {
    throw new MigrationError('CF_ERR_NOTICES_OFF', 'user notices are not configured, so there is nothing to resend', {
      object: 'migration.notices',
      hint: 'add a migration.notices section (smtp, from) to the project file',
    });
  }
  let only: number | undefined;
  if (input.mailbox !== undefined) {
    const m = (await mailboxesOf(store, batch.id)).find((x) => x.sourceLogin.toLowerCase() === (input.mailbox as string).toLowerCase());
    if (!m)
      throw new MigrationError('CF_ERR_BATCH_MAILBOX', `${input.mailbox} is not a mailbox of batch ${batch.name}`, {
        object: input.mailbox,
        hint: `crossforest batch show ${batch.name} lists them`,
      });
    only = m.id;
  }
  const ctx = { setup, store, batch, logger: input.logger };
  // Under the batch's lease: a running batch may be sending these very rows (a `failed`
  // one it retries, a `sending` one in flight); a resend then is refused, not doubled.
  return withBatchLease(store, batch.name, async () => {
    const out: NoticeOutcome[] = [];
    for (const kind of input.kind ? [input.kind] : (['before', 'after'] as const)) {
      out.push(...(await sendNotices(ctx, kind, only, { resend: true, includeUnknown: input.includeUnknown ?? false })));
    }
    return out;
  });
}
