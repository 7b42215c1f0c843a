// User notices: the seed's expectations e-mail, sent to each user of a batch through the
// target organization's SMTP (`migration.notices`).
//
// - before: at batch start, before pre-stage, to the source address. Until cutover the
//   target organization routes the old address to the source organization: before
//   pre-stage by the GAL-sync contact's targetAddress (or the domain route), after it by
//   the pre-staged user's targetAddress, which routing honours before its new mailbox.
//   So a before-notice, first or retried, lands in the mailbox the user reads today (and
//   the cutover's final delta carries it over); one not sent by cutover is missed.
// - after: once the mailbox is done, to the target address (the new INBOX).
//
// Exactly once: a row is committed `sending` before the SMTP transaction and `sent` after
// it. A run killed inside the transaction leaves `sending`; the next run marks it
// `unknown` (a warning) and never sends it again: a duplicate notice is worse than a
// missing one we report. A refused or unreachable SMTP is a warning on the mailbox, never
// a failed move, and is retried on the next run.
import nodemailer from 'nodemailer';
import type { NoticesConfig } from '../config/notices.ts';
import { readReferencedFile, resolveSecret } from '../config/secret.ts';
import type { StateStore } from '../state/store.ts';
import { describeError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { mailboxesOf } from './batchStore.ts';
import { markNotice, markSending, type NoticeKind, noticeOf } from './noticeStore.ts';
import { DEFAULT_NOTICES, type NoticeValues, render, renderSubject } from './noticeTemplate.ts';
import type { MigrationSetup } from './setup.ts';
import { type Batch, type MailboxRow, type PipelineState, pipelineStage } from './types.ts';
import { utcMinute } from './window.ts';

const TIMEOUT_MS = 15_000;
const BEFORE_CUTOVER: PipelineState[] = ['queued', 'prestaged', 'copied'];

export interface NoticeContext {
  setup: MigrationSetup;
  store: StateStore;
  batch: Batch;
  logger: Logger;
}

export interface NoticeOutcome {
  mailbox: string;
  kind: NoticeKind;
  status: 'sent' | 'failed' | 'missed' | 'unknown';
  warning?: string;
}

/** Is the notice due now (true), not yet (false), or too late to send ('missed')? */
export function noticeDue(kind: NoticeKind, m: MailboxRow): boolean | 'missed' {
  const s = pipelineStage(m);
  if (kind === 'after') return m.state === 'done';
  return s !== null && BEFORE_CUTOVER.includes(s) ? true : s === null ? false : 'missed';
}

function windowText(b: Batch): string {
  const o = b.options;
  if (o.windowStart && o.windowStop) return `${utcMinute(o.windowStart)} to ${utcMinute(o.windowStop)}`;
  if (o.windowStop) return `until ${utcMinute(o.windowStop)}`;
  if (o.windowStart) return `from ${utcMinute(o.windowStart)}`;
  return 'as soon as possible';
}

export function noticeValues(b: Batch, m: MailboxRow): NoticeValues {
  const d = m.plan.display;
  return {
    displayName: d.displayName?.[0] ?? d.cn?.[0] ?? m.sourceLogin,
    sourceAddress: m.sourceMail,
    targetAddress: m.plan.targetPrimary,
    batch: b.name,
    workgroup: b.options.workgroup ?? '-',
    window: windowText(b),
  };
}

function transport(cfg: NoticesConfig, baseDir: string) {
  const key = 'migration.notices.smtp';
  const s = cfg.smtp;
  return nodemailer.createTransport({
    host: s.host,
    port: s.port,
    secure: s.tls === 'implicit',
    requireTLS: s.tls === 'starttls',
    ignoreTLS: s.tls === 'none',
    tls: { ...(s.caFile ? { ca: readReferencedFile(s.caFile, baseDir, `${key}.caFile`) } : {}), rejectUnauthorized: true },
    ...(s.user && s.password ? { auth: { user: s.user, pass: resolveSecret(s.password, baseDir, `${key}.password`) } } : {}),
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
  });
}

export interface SendOptions {
  /**
   * An operator's `batch notices --resend`: notices that failed or were missed are sent now,
   * whatever the pipeline stage; `unknown` ones (a run stopped inside the SMTP transaction,
   * so the user may have it) only with `includeUnknown`. Never one recorded `sent`.
   */
  resend?: boolean;
  includeUnknown?: boolean;
}

/** Sends every due notice of `kind` for the batch (or only `only`); returns what happened. */
export async function sendNotices(ctx: NoticeContext, kind: NoticeKind, only?: number, opts: SendOptions = {}): Promise<NoticeOutcome[]> {
  const cfg = ctx.setup.config.notices;
  if (!cfg || (!opts.resend && !(kind === 'before' ? cfg.sendBefore : cfg.sendAfter))) return [];
  const log = ctx.logger.child({ scope: 'notices', kind });
  const out: NoticeOutcome[] = [];
  let t: ReturnType<typeof transport> | undefined;
  try {
    for (const m of await mailboxesOf(ctx.store, ctx.batch.id)) {
      if (only !== undefined && m.id !== only) continue;
      const row = await noticeOf(ctx.store, m.id, kind);
      const resendable = opts.resend && row && (row.status === 'missed' || (row.status === 'unknown' && opts.includeUnknown));
      if (row && row.status !== 'failed' && row.status !== 'sending' && !resendable) continue;
      if (row?.status === 'sending') {
        const warning = `${kind}-notice to ${row.recipient}: a run stopped while sending it; not sent again (look for Message-ID ${row.messageId} in that mailbox)`;
        await markNotice(ctx.store, m.id, kind, 'unknown', warning, row.recipient, row.messageId);
        log.warn({ mailbox: m.sourceLogin }, warning);
        out.push({ mailbox: m.sourceLogin, kind, status: 'unknown', warning });
        continue;
      }
      const due = noticeDue(kind, m);
      if (due === false) continue;
      if (due === 'missed' && !opts.resend) {
        const warning = `${kind}-notice not sent: the mailbox was cut over first${row?.warning ? ` (last attempt: ${row.warning})` : ''}`;
        await markNotice(ctx.store, m.id, kind, 'missed', warning, row?.recipient, row?.messageId);
        out.push({ mailbox: m.sourceLogin, kind, status: 'missed', warning });
        continue;
      }
      // A before-notice sent late (resent after cutover) goes to the new address: the user
      // reads the new mailbox now, and the old address would reach it only through the
      // forwarding the cutover set up.
      const recipient = kind === 'before' && due !== 'missed' ? m.sourceMail : m.plan.targetPrimary;
      const domain = cfg.from.replace(/^.*@/, '').replace(/[>\s].*$/, '') || 'crossforest.invalid';
      const messageId = `<crossforest-notice.${ctx.batch.id}.${m.id}.${kind}@${domain}>`;
      const tpl = cfg[kind] ?? DEFAULT_NOTICES[kind];
      const values = noticeValues(ctx.batch, m);
      await markSending(ctx.store, m.id, kind, recipient, messageId);
      try {
        t ??= transport(cfg, ctx.setup.project.baseDir);
        await t.sendMail({
          from: cfg.from,
          to: recipient,
          subject: renderSubject(tpl.subject, values),
          text: render(tpl.body, values),
          messageId,
          headers: { 'Auto-Submitted': 'auto-generated', 'X-Crossforest-Batch': ctx.batch.name },
        });
        await markNotice(ctx.store, m.id, kind, 'sent', null, recipient, messageId);
        log.info({ mailbox: m.sourceLogin, to: recipient }, 'notice sent');
        out.push({ mailbox: m.sourceLogin, kind, status: 'sent' });
      } catch (err) {
        const warning = `${kind}-notice to ${recipient} via ${cfg.smtp.host}:${cfg.smtp.port} failed (retried on the next run): ${describeError(err)}`;
        await markNotice(ctx.store, m.id, kind, 'failed', warning, recipient, messageId);
        log.warn({ mailbox: m.sourceLogin }, warning);
        out.push({ mailbox: m.sourceLogin, kind, status: 'failed', warning });
      }
    }
  } finally {
    t?.close();
  }
  return out;
}
