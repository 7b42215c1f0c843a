// The live view of a running batch (pure): folds run events into per-mailbox state and
// progress, and computes overall messages/s, MB/s and an ETA. The CLI prints it.
import type { MailboxState, RunEvent } from './types.ts';

interface Row {
  state: MailboxState | string;
  step: string;
  copied: number;
  copiedBytes: number;
  total: number;
  totalBytes: number;
  note: string;
}

export class LiveStatus {
  readonly rows = new Map<string, Row>();
  private readonly started = Date.now();
  private copied = 0;
  private copiedBytes = 0;
  private last = new Map<string, { m: number; b: number }>();

  /** `copied`: already on the target when the view opens (shown, but not counted in the rates). */
  constructor(mailboxes: { login: string; state: string; messages: number; bytes: number; copied?: number; copiedBytes?: number }[]) {
    for (const m of mailboxes) {
      const copied = m.copied ?? 0;
      const copiedBytes = m.copiedBytes ?? 0;
      this.rows.set(m.login, { state: m.state, step: '', copied, copiedBytes, total: m.messages, totalBytes: m.bytes, note: '' });
      if (copied || copiedBytes) this.last.set(m.login, { m: copied, b: copiedBytes });
    }
  }

  apply(e: RunEvent): void {
    if (e.type === 'state') {
      const r = this.row(e.mailbox);
      r.state = e.state;
      r.step = e.step ?? r.step;
      r.note = e.error ? (e.error.split('\n')[0] ?? '') : '';
      if (e.step === 'copy' || e.step === 'delta' || e.step === 'cutover') this.last.delete(e.mailbox);
    } else if (e.type === 'progress') {
      const r = this.row(e.mailbox);
      const prev = this.last.get(e.mailbox) ?? { m: 0, b: 0 };
      this.copied += Math.max(0, e.copiedMessages - prev.m);
      this.copiedBytes += Math.max(0, e.copiedBytes - prev.b);
      r.copied += Math.max(0, e.copiedMessages - prev.m);
      r.copiedBytes += Math.max(0, e.copiedBytes - prev.b);
      this.last.set(e.mailbox, { m: e.copiedMessages, b: e.copiedBytes });
      if (e.totalMessages > r.total) r.total = e.totalMessages;
      if (e.totalBytes > r.totalBytes) r.totalBytes = e.totalBytes;
    } else if (e.type === 'wait' && e.mailbox !== '*') {
      this.row(e.mailbox).note = `waiting: ${e.what}`;
    }
  }

  private row(login: string): Row {
    let r = this.rows.get(login);
    if (!r) {
      r = { state: 'queued', step: '', copied: 0, copiedBytes: 0, total: 0, totalBytes: 0, note: '' };
      this.rows.set(login, r);
    }
    return r;
  }

  totals(now = Date.now()): {
    copied: number;
    copiedBytes: number;
    total: number;
    msgsPerSecond: number;
    mbPerSecond: number;
    etaSeconds: number | null;
    done: number;
    mailboxes: number;
  } {
    const secs = Math.max(now - this.started, 1) / 1000;
    let total = 0;
    let done = 0;
    for (const r of this.rows.values()) {
      total += r.total;
      if (r.state === 'done') done++;
    }
    const rate = this.copied / secs;
    const remaining = Math.max(0, total - [...this.rows.values()].reduce((a, r) => a + Math.min(r.copied, r.total), 0));
    return {
      copied: this.copied,
      copiedBytes: this.copiedBytes,
      total,
      msgsPerSecond: rate,
      mbPerSecond: this.copiedBytes / 1e6 / secs,
      etaSeconds: rate > 0 ? remaining / rate : null,
      done,
      mailboxes: this.rows.size,
    };
  }

  /** The view as text lines: one per mailbox, then a progress bar with rates and ETA. */
  render(width = 30): string[] {
    const lines = [...this.rows.entries()].map(([login, r]) => {
      const pct = r.total ? Math.min(100, Math.round((r.copied / r.total) * 100)) : 0;
      return `${login.padEnd(34)} ${String(r.state).padEnd(10)} ${r.step.padEnd(8)} ${String(r.copied).padStart(6)}/${String(r.total).padEnd(6)} ${String(pct).padStart(3)}% ${r.note}`.trimEnd();
    });
    const t = this.totals();
    const frac = t.total ? Math.min(1, (t.total - Math.max(0, t.total - t.copied)) / t.total) : t.mailboxes ? t.done / t.mailboxes : 0;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    lines.push(
      `[${bar}] ${t.done}/${t.mailboxes} mailboxes done, ${t.copied} messages, ${t.msgsPerSecond.toFixed(0)} msg/s, ${t.mbPerSecond.toFixed(1)} MB/s, ETA ${t.etaSeconds === null ? '—' : `${t.etaSeconds.toFixed(0)} s`}`,
    );
    return lines;
  }
}
