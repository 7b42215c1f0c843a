// Builds one RFC 5322 message as bytes (LF line ends, as Maildir keeps them). Plain,
// HTML, with a base64 attachment, a meeting request, or deliberately broken: the cases
// a migration must carry byte for byte (8-bit headers, malformed MIME, no Message-ID).
import { createCipheriv, createHash } from 'node:crypto';
import type { Prng } from '../../org/prng.ts';
import { paragraphText } from './text.ts';

export type MessageKind = 'plain' | 'html' | 'attachment' | 'calendar' | 'malformed';

export interface Mailbox {
  name: string;
  address: string;
}

export interface MessageSpec {
  kind: MessageKind;
  from: Mailbox;
  to: Mailbox[];
  subject: string;
  /** When the message was written (Date header); internal date is a little later. */
  date: Date;
  /** Minutes east of UTC for the Date header. */
  tzOffset: number;
  /** Null: no Message-ID header at all. */
  messageId: string | null;
  /** Approximate total size in bytes. */
  size: number;
  /** Raw UTF-8 in Subject/From instead of RFC 2047 encoded words. */
  eightBitHeaders: boolean;
  /** Key material for deterministic attachment bytes. */
  seedKey: string;
}

const needsEncoding = (s: string): boolean => /[^\x20-\x7e]/.test(s);

function encodeWord(s: string, raw: boolean): string {
  return raw || !needsEncoding(s) ? s : `=?UTF-8?B?${Buffer.from(s).toString('base64')}?=`;
}

function address(m: Mailbox, raw: boolean): string {
  const name =
    /[",.<>@;:()[\]\\]/.test(m.name) && !needsEncoding(m.name) ? `"${m.name.replace(/["\\]/g, '\\$&')}"` : encodeWord(m.name, raw);
  return `${name} <${m.address}>`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number): string => String(n).padStart(2, '0');

/** RFC 5322 date-time in the given zone. */
export function rfc5322Date(d: Date, tzOffset: number): string {
  const l = new Date(d.getTime() + tzOffset * 60_000);
  const sign = tzOffset < 0 ? '-' : '+';
  const abs = Math.abs(tzOffset);
  return `${DAYS[l.getUTCDay()]}, ${p2(l.getUTCDate())} ${MONTHS[l.getUTCMonth()]} ${l.getUTCFullYear()} ${p2(l.getUTCHours())}:${p2(l.getUTCMinutes())}:${p2(l.getUTCSeconds())} ${sign}${p2(Math.floor(abs / 60))}${p2(abs % 60)}`;
}

/** Deterministic pseudo-random bytes (AES-CTR keystream): fast even for 5 MB. */
function randomBytesFrom(key: string, n: number): Buffer {
  const h = createHash('sha256').update(key).digest();
  const c = createCipheriv('aes-128-ctr', h.subarray(0, 16), h.subarray(16, 32));
  return c.update(Buffer.alloc(n));
}

function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\n');
}

const ATTACHMENTS = [
  { name: 'Quarterly Report.pdf', type: 'application/pdf' },
  { name: 'photo_2019.jpg', type: 'image/jpeg' },
  { name: 'Übersicht Budget.xlsx', type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
  { name: 'contract-draft.docx', type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' },
];

export function buildMessage(spec: MessageSpec, rnd: Prng): Buffer {
  const raw = spec.eightBitHeaders;
  const boundary = `----=_cf_${createHash('sha1').update(spec.seedKey).digest('hex').slice(0, 16)}`;
  const h: string[] = [
    `Return-Path: <${spec.from.address}>`,
    `Received: from mail.${spec.from.address.split('@')[1] ?? 'example.com'} (mail [192.0.2.25])\n\tby mail-a.forest-a.test with ESMTP; ${rfc5322Date(new Date(spec.date.getTime() + 90_000), spec.tzOffset)}`,
    `From: ${address(spec.from, raw)}`,
    `To: ${spec.to.map((t) => address(t, raw)).join(',\n\t')}`,
    `Subject: ${encodeWord(spec.subject, raw)}`,
    `Date: ${rfc5322Date(spec.date, spec.tzOffset)}`,
  ];
  if (spec.messageId !== null) h.push(`Message-ID: <${spec.messageId}>`);
  if (rnd.chance(0.3)) h.push('X-Mailer: Microsoft Outlook 16.0');
  h.push('MIME-Version: 1.0');

  const headerBytes = Buffer.byteLength(h.join('\n')) + 200;
  const textSize = Math.max(200, spec.size - headerBytes);
  let body: string;
  switch (spec.kind) {
    case 'plain': {
      h.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit');
      body = paragraphText(rnd, textSize);
      break;
    }
    case 'html': {
      const text = paragraphText(rnd, Math.floor(textSize / 3));
      const html = `<html><body>\n${text
        .split('\n\n')
        .map((p) => `<p>${p}</p>`)
        .join('\n')}\n</body></html>`;
      h.push(`Content-Type: multipart/alternative; boundary="${boundary}"`);
      body = [
        'This is a multi-part message in MIME format.',
        `--${boundary}`,
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        text,
        `--${boundary}`,
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        html,
        `--${boundary}--`,
        '',
      ].join('\n');
      break;
    }
    case 'calendar': {
      const start = rfc5322Date(spec.date, 0);
      const stamp = spec.date
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      h.push(`Content-Type: multipart/alternative; boundary="${boundary}"`);
      body = [
        `--${boundary}`,
        'Content-Type: text/plain; charset=utf-8',
        '',
        `${spec.subject}\nWhen: ${start}\n`,
        `--${boundary}`,
        'Content-Type: text/calendar; charset=utf-8; method=REQUEST',
        '',
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:-//crossforest lab//EN',
        'METHOD:REQUEST',
        'BEGIN:VEVENT',
        `UID:${spec.seedKey.replace(/[^A-Za-z0-9]/g, '')}@forest-a.test`,
        `DTSTAMP:${stamp}`,
        `DTSTART:${stamp}`,
        `SUMMARY:${spec.subject}`,
        `ORGANIZER:mailto:${spec.from.address}`,
        'END:VEVENT',
        'END:VCALENDAR',
        `--${boundary}--`,
        '',
      ].join('\n');
      break;
    }
    case 'attachment': {
      const att = rnd.pick(ATTACHMENTS);
      const text = paragraphText(rnd, 400 + rnd.int(1500));
      // base64 grows 4/3 plus line ends: size the raw data so the message lands near spec.size.
      const dataBytes = Math.max(1024, Math.floor(((spec.size - headerBytes - text.length) * 3) / 4 / (77 / 76)));
      const encodedName = needsEncoding(att.name) ? `filename*=utf-8''${encodeURIComponent(att.name)}` : `filename="${att.name}"`;
      h.push(`Content-Type: multipart/mixed; boundary="${boundary}"`);
      body = [
        'This is a multi-part message in MIME format.',
        `--${boundary}`,
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        text,
        `--${boundary}`,
        `Content-Type: ${att.type}`,
        'Content-Transfer-Encoding: base64',
        `Content-Disposition: attachment; ${encodedName}`,
        '',
        base64Lines(randomBytesFrom(spec.seedKey, dataBytes)),
        `--${boundary}--`,
        '',
      ].join('\n');
      break;
    }
    case 'malformed': {
      // Declares one boundary, uses another, never closes: parsers must not choke, and
      // a copy must keep the bytes exactly as they are.
      h.push(`Content-Type: multipart/mixed; boundary="${boundary}"`);
      body = [
        `--${boundary}x`,
        'Content-Type: text/plain',
        '',
        paragraphText(rnd, 600),
        `--${boundary.slice(0, -2)}`,
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: base64',
        '',
        'VGhpcyBpcyBub3QgdmFsaWQgYmFzZTY0IQ=*=',
        '',
      ].join('\n');
      break;
    }
  }
  return Buffer.from(`${h.join('\n')}\n\n${body}\n`);
}
