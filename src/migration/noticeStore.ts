// User notices in the state store (031_notices.sql): one row per mailbox and kind, one
// query per function.
import type { StateStore } from '../state/store.ts';

export type NoticeKind = 'before' | 'after';
/** sending: the SMTP transaction began; unknown: a run stopped inside it (never resent). */
export type NoticeStatus = 'sending' | 'sent' | 'failed' | 'missed' | 'unknown';

export interface NoticeRow {
  mailboxId: number;
  kind: NoticeKind;
  status: NoticeStatus;
  recipient: string;
  messageId: string;
  attempts: number;
  warning: string | null;
  sentAt: string | null;
}

interface Raw {
  mailbox_id: number;
  kind: NoticeKind;
  status: NoticeStatus;
  recipient: string;
  message_id: string;
  attempts: number;
  warning: string | null;
  sent_at: string | null;
}

const toRow = (r: Raw): NoticeRow => ({
  mailboxId: r.mailbox_id,
  kind: r.kind,
  status: r.status,
  recipient: r.recipient,
  messageId: r.message_id,
  attempts: r.attempts,
  warning: r.warning,
  sentAt: r.sent_at,
});
const now = (): string => new Date().toISOString();

export async function noticeOf(store: StateStore, mailboxId: number, kind: NoticeKind): Promise<NoticeRow | undefined> {
  const r = await store.sql.get<Raw>('SELECT * FROM migration_notice WHERE mailbox_id = ? AND kind = ?', [mailboxId, kind]);
  return r ? toRow(r) : undefined;
}

export async function noticesOfBatch(store: StateStore, batchId: number): Promise<NoticeRow[]> {
  const rows = await store.sql.all<Raw>(
    'SELECT n.* FROM migration_notice n JOIN migration_mailbox m ON m.id = n.mailbox_id WHERE m.batch_id = ? ORDER BY n.mailbox_id, n.kind',
    [batchId],
  );
  return rows.map(toRow);
}

/** Marks the start of an SMTP transaction (committed before the first byte is sent). */
export async function markSending(
  store: StateStore,
  mailboxId: number,
  kind: NoticeKind,
  recipient: string,
  messageId: string,
): Promise<void> {
  await store.sql.run(
    `INSERT INTO migration_notice (mailbox_id, kind, status, recipient, message_id, attempts, updated_at) VALUES (?, ?, 'sending', ?, ?, 1, ?)
       ON CONFLICT (mailbox_id, kind) DO UPDATE SET status = 'sending', recipient = excluded.recipient,
       attempts = migration_notice.attempts + 1, updated_at = excluded.updated_at`,
    [mailboxId, kind, recipient, messageId, now()],
  );
}

/** The outcome of an attempt, or a notice that will not be sent (missed, unknown), with the warning. */
export async function markNotice(
  store: StateStore,
  mailboxId: number,
  kind: NoticeKind,
  status: Exclude<NoticeStatus, 'sending'>,
  warning: string | null,
  recipient = '',
  messageId = '',
): Promise<void> {
  await store.sql.run(
    `INSERT INTO migration_notice (mailbox_id, kind, status, recipient, message_id, warning, sent_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (mailbox_id, kind) DO UPDATE SET status = excluded.status, warning = excluded.warning, sent_at = excluded.sent_at, updated_at = excluded.updated_at`,
    [mailboxId, kind, status, recipient, messageId, warning, status === 'sent' ? now() : null, now()],
  );
}
