// The batch report as one self-contained HTML page: inline CSS, an inline SVG chart of
// throughput over time, no script and no CDN (it is mailed around and opened offline).
import { humanDuration } from './prediction.ts';
import type { BatchReport } from './report.ts';

export const escapeHtml = (s: unknown): string =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const mb = (b: number): string => (b / 1e6).toFixed(1);
const secs = (ms: number | null): string => (ms === null ? '' : (ms / 1000).toFixed(1));

/** Messages/s per bucket over time as an SVG line chart (pure). */
export function throughputSvg(samples: BatchReport['throughput'], width = 720, height = 200): string {
  if (samples.length === 0) return '<p>No throughput samples (nothing copied in this batch yet).</p>';
  const t0 = Date.parse(samples[0]!.at);
  const t1 = Math.max(Date.parse(samples[samples.length - 1]!.at), t0 + 1000);
  const bucketMs = Math.max(1000, Math.ceil((t1 - t0) / 60 / 1000) * 1000);
  const buckets = new Map<number, { m: number; b: number }>();
  for (const s of samples) {
    const k = Math.floor((Date.parse(s.at) - t0) / bucketMs);
    const cur = buckets.get(k) ?? { m: 0, b: 0 };
    cur.m += s.messages;
    cur.b += s.bytes;
    buckets.set(k, cur);
  }
  const n = Math.floor((t1 - t0) / bucketMs) + 1;
  const rates = Array.from({ length: n }, (_, i) => (buckets.get(i)?.m ?? 0) / (bucketMs / 1000));
  const max = Math.max(...rates, 1);
  const pad = 40;
  const x = (i: number): number => pad + (n === 1 ? 0 : (i / (n - 1)) * (width - pad - 10));
  const y = (v: number): number => height - 25 - (v / max) * (height - 40);
  const points = rates.map((r, i) => `${x(i).toFixed(1)},${y(r).toFixed(1)}`).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="messages per second over time">
<line x1="${pad}" y1="${height - 25}" x2="${width - 10}" y2="${height - 25}" stroke="#888"/><line x1="${pad}" y1="10" x2="${pad}" y2="${height - 25}" stroke="#888"/>
<text x="4" y="${y(max) + 4}" font-size="11">${max.toFixed(0)}</text><text x="4" y="${height - 22}" font-size="11">0</text>
<text x="${pad}" y="${height - 6}" font-size="11">${escapeHtml(samples[0]!.at.slice(11, 19))}</text><text x="${width - 70}" y="${height - 6}" font-size="11">${escapeHtml(new Date(t1).toISOString().slice(11, 19))}</text>
<polyline fill="none" stroke="#2a6fdb" stroke-width="2" points="${points}"/>
<text x="${pad + 6}" y="22" font-size="12">messages/s (${bucketMs / 1000} s buckets)</text></svg>`;
}

/** "Predicted and actual": the figures side by side, then the same in sentences (pure). */
export function predictionHtml(p: BatchReport['prediction']): string {
  const rows: [string, string][] = [];
  if (p.predicted) {
    const w = p.predicted.windowSeconds;
    rows.push(
      ['predicted duration', humanDuration(p.predicted.predictedSeconds)],
      [
        'basis',
        `${(p.predicted.rate.bytesPerSecond / 1e6).toFixed(2)} MB/s per mailbox — ${p.predicted.rate.source}; ${p.predicted.streams} at a time; window ${w === null ? 'none' : humanDuration(w)}`,
      ],
    );
  }
  rows.push(['actual duration (work)', p.actualSeconds === null ? '—' : `${humanDuration(p.actualSeconds)}${p.finished ? '' : ' so far'}`]);
  if (p.ratio !== null) rows.push(['actual ÷ predicted', p.ratio.toFixed(2)]);
  if (p.fittedWindow !== null) rows.push(['fitted the window', p.fittedWindow ? 'yes' : 'NO']);
  return `<table class="prediction">${rows.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
${p.summary.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}`;
}

/** `intact/source` of calendar items or contacts; blank when calendars do not move. */
const items = (x: { source: number; intact: number } | undefined): string => (x ? `${x.intact}/${x.source}` : '');

export function renderBatchHtml(r: BatchReport, project: string): string {
  const t = r.totals;
  const rows = r.mailboxes
    .map(
      (
        m,
      ) => `<tr class="${escapeHtml(m.state)}"><td>${escapeHtml(m.name)}</td><td>${escapeHtml(m.source)}</td><td>${escapeHtml(m.target)}</td><td>${escapeHtml(m.state)}${m.resumeState ? ` (at ${escapeHtml(m.resumeState)})` : ''}</td>
<td class="n">${m.messages}</td><td class="n">${mb(m.bytes)}</td><td class="n">${m.copied}</td><td class="n">${m.deltas}</td><td class="n">${m.skipped.length}</td>
<td class="n">${m.fidelity === null ? '' : (m.fidelity * 100).toFixed(2)}</td><td class="n">${items(m.verify?.calendars?.calendarItems)}</td><td class="n">${items(m.verify?.calendars?.contactItems)}</td><td class="n">${secs(m.copyMs)}</td><td class="n">${m.messagesPerSecond}</td><td>${escapeHtml(m.error ?? '')}</td></tr>`,
    )
    .join('\n');
  const skipped = r.mailboxes.flatMap((m) => m.skipped.map((s) => ({ m, s })));
  const skippedRows = skipped
    .map(
      ({ m, s }) =>
        `<tr><td>${escapeHtml(m.source)}</td><td>${escapeHtml(s.folder)}</td><td class="n">${s.uid}</td><td>${escapeHtml(s.messageId ?? '')}</td><td>${escapeHtml(s.subject ?? '')}</td><td class="n">${s.size}</td><td>${escapeHtml(s.kind)}</td><td>${escapeHtml(s.reason)}</td></tr>`,
    )
    .join('\n');
  const timings = r.mailboxes
    .map(
      (m) =>
        `<tr><td>${escapeHtml(m.source)}</td>${['prestage', 'copy', 'delta', 'cutover', 'cleanup', 'verify', 'report'].map((st) => `<td class="n">${secs(m.steps.filter((x) => x.step === st && x.ms !== null).reduce((a, x) => a + (x.ms ?? 0), 0) || null)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  const problems = r.mailboxes
    .filter((m) => (m.verify && !m.verify.ok) || m.error)
    .map((m) => `<li><b>${escapeHtml(m.source)}</b>: ${escapeHtml(m.error ?? m.verify?.problems.join('; ') ?? '')}</li>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Batch ${escapeHtml(r.batch)} — ${escapeHtml(project)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.failed td{background:#fde2e2}tr.suspended td{background:#fff4d6}tr.done td:nth-child(4){color:#1a7f37}
.totals td:first-child,.prediction td:first-child{font-weight:bold}h1{font-size:1.4em}</style></head><body>
<h1>Migration batch ${escapeHtml(r.batch)}</h1>
<p>${escapeHtml(project)}: ${escapeHtml(r.sourceOrg)} → ${escapeHtml(r.targetOrg)} (store ${escapeHtml(r.targetStore)}), status <b>${escapeHtml(r.status)}</b>; created ${escapeHtml(r.createdAt)}, started ${escapeHtml(r.startedAt ?? '—')}, finished ${escapeHtml(r.finishedAt ?? '—')}; report generated ${escapeHtml(r.generatedAt)}.</p>
<table class="totals"><tr><td>mailboxes</td><td>${t.mailboxes} (${Object.entries(t.byState)
    .map(([k, v]) => `${v} ${escapeHtml(k)}`)
    .join(', ')})</td></tr>
<tr><td>source size</td><td>${t.messages} messages, ${mb(t.bytes)} MB</td></tr><tr><td>copied</td><td>${t.copied} messages, ${mb(t.copiedBytes)} MB in ${secs(t.copyMs)} s (${t.messagesPerSecond} msg/s, ${t.megabytesPerSecond} MB/s)</td></tr>
<tr><td>skipped items</td><td>${t.skipped}</td></tr><tr><td>mean fidelity</td><td>${t.meanFidelity === null ? '—' : `${(t.meanFidelity * 100).toFixed(2)} %`}</td></tr>
<tr><td>options</td><td>${Object.entries(r.options)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${escapeHtml(k)} ${escapeHtml(v)}`)
    .join(' · ')}</td></tr></table>
<h2>Predicted and actual duration</h2>
${predictionHtml(r.prediction)}
<h2>Throughput over time</h2>
${throughputSvg(r.throughput)}
<h2>Mailboxes</h2>
<table><tr><th>name</th><th>source</th><th>target</th><th>state</th><th>messages</th><th>MB</th><th>copied</th><th>deltas</th><th>skipped</th><th>fidelity %</th><th title="calendar items (events, tasks) intact / on the source">calendar</th><th title="vCards intact / on the source">contacts</th><th>copy s</th><th>msg/s</th><th>error</th></tr>
${rows}</table>
${problems ? `<h2>Problems</h2><ul>${problems}</ul>` : ''}
<h2>Skipped items</h2>
${skipped.length ? `<table><tr><th>mailbox</th><th>folder</th><th>UID</th><th>Message-ID</th><th>subject</th><th>bytes</th><th>kind</th><th>reason</th></tr>${skippedRows}</table>` : '<p>None.</p>'}
${r.notices?.length ? `<h2>User notices</h2><table><tr><th>mailbox</th><th>notice</th><th>status</th><th>to</th><th>attempts</th><th>sent</th><th>warning</th></tr>${r.notices.map((n) => `<tr><td>${escapeHtml(n.mailbox)}</td><td>${escapeHtml(n.kind)}</td><td>${escapeHtml(n.status)}</td><td>${escapeHtml(n.recipient)}</td><td class="n">${n.attempts}</td><td>${escapeHtml(n.sentAt ?? '')}</td><td>${escapeHtml(n.warning ?? '')}</td></tr>`).join('\n')}</table>` : ''}
<h2>Timings (seconds per step)</h2>
<table><tr><th>mailbox</th><th>pre-stage</th><th>copy</th><th>delta</th><th>cutover</th><th>clean-up</th><th>verify</th><th>report</th></tr>${timings}</table>
</body></html>
`;
}
