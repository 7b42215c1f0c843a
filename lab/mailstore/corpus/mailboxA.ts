// One forest-A user's mailbox, generated from (seed, user) alone: folder tree, message
// count, sizes, dates over ten years, flags, keywords, and — for the showcase user —
// every awkward case a migration must carry (no Message-ID, a shared Message-ID,
// 8-bit headers, broken MIME, a 5 MB attachment).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SamplePerson } from '../../org/people.ts';
import { createPrng, type Prng } from '../../org/prng.ts';
import type { SpecialUse, StoreDef } from '../stores.ts';
import { type FolderPlan, imapName, maildirFolderDir, planFolders, subscriptionName } from './folders.ts';
import { createMaildir, type Keyword, type StoredMessage, type SystemFlag, writeMaildirMessages } from './maildir.ts';
import { buildMessage, type Mailbox, type MessageKind } from './message.ts';
import { subject } from './text.ts';

export interface UserRoles {
  showcase: boolean;
  hoarder: boolean;
  big: boolean;
}

export interface CorpusSizing {
  /** Mean messages per ordinary user (uniform in [20, 2·mean − 20]). */
  meanMessages: number;
  /** Messages of the one big mailbox (the copy-engine benchmark's 3,000). */
  bigMailboxMessages: number;
}

export interface FolderManifest {
  /** IMAP name as clients of the store see it (`INBOX.Sent Items`). */
  name: string;
  specialUse?: SpecialUse;
  messages: number;
  bytes: number;
  subscribed: boolean;
}

export interface UserManifest {
  upn: string;
  roles: string[];
  folders: FolderManifest[];
  messages: number;
  bytes: number;
}

/** Ten years of mail ending at a fixed instant: the corpus must not depend on today. */
const END = Date.UTC(2026, 5, 1);
const START = Date.UTC(2016, 5, 1);

const EXTERNAL: Mailbox[] = [
  { name: 'Acme Billing', address: 'billing@acme.example' },
  { name: 'Björn Sørensen', address: 'bjorn@partner.example' },
  { name: 'Newsletter', address: 'news@lists.example.org' },
  { name: '佐藤 花子', address: 'hanako.sato@forest-b.test' },
  { name: 'Travel Desk', address: 'travel@agency.example' },
];

interface Draw {
  kind: MessageKind;
  size: number;
}

function drawSize(rnd: Prng, big: boolean): Draw {
  const r = rnd.next();
  // Mostly small text mail, some HTML, few attachments; the big mailbox has fewer
  // attachments so its 3,000 messages stay ~30 MB.
  const att = big ? 0.02 : 0.05;
  if (r < att * 0.2) return { kind: 'attachment', size: 300_000 + rnd.int(1_200_000) };
  if (r < att) return { kind: 'attachment', size: 40_000 + rnd.int(260_000) };
  if (r < att + 0.12) return { kind: 'html', size: 6_000 + rnd.int(34_000) };
  return { kind: 'plain', size: 1_000 + rnd.int(5_000) };
}

function pickFolder(rnd: Prng, plan: FolderPlan[], total: number): FolderPlan {
  let r = rnd.next() * total;
  for (const f of plan) {
    r -= f.weight;
    if (r < 0) return f;
  }
  return plan[0] as FolderPlan;
}

interface Pending {
  folder: FolderPlan;
  date: Date;
  draw: Draw;
  messageId: string | null;
  eightBit: boolean;
  subject?: string;
}

function flagsFor(rnd: Prng, f: FolderPlan, date: Date): { flags: SystemFlag[]; keywords: Keyword[] } {
  const flags: SystemFlag[] = [];
  const keywords: Keyword[] = [];
  const recent = END - date.getTime() < 30 * 86_400_000;
  if (f.specialUse === '\\Drafts') flags.push('\\Draft');
  else if (f.specialUse === '\\Sent' || rnd.chance(recent ? 0.5 : 0.95)) flags.push('\\Seen');
  if (f.kind === 'inbox' && rnd.chance(0.15)) flags.push('\\Answered');
  if (rnd.chance(0.05)) flags.push('\\Flagged');
  if (f.specialUse === '\\Junk') keywords.push('$Junk');
  else if (rnd.chance(0.02)) keywords.push('$NotJunk');
  if (f.kind === 'inbox' && rnd.chance(0.05)) keywords.push('$Forwarded');
  if (rnd.chance(0.03)) keywords.push('$MDNSent');
  if (rnd.chance(0.03)) keywords.push('Project-Phoenix');
  return { flags, keywords };
}

export interface MailboxInput {
  store: StoreDef;
  home: string;
  person: SamplePerson;
  roles: UserRoles;
  sizing: CorpusSizing;
  seed: string;
  /** Colleagues to write to / hear from (a bounded sample of the forest). */
  colleagues: readonly Mailbox[];
}

export function writeMailboxA(i: MailboxInput): UserManifest {
  const { store, person, roles, seed } = i;
  const rnd = createPrng('corpus', seed, person.upn);
  const me: Mailbox = { name: person.displayName, address: person.mail ?? person.upn };
  const plan = planFolders(store, rnd, { showcase: roles.showcase, hoarder: roles.hoarder });
  const totalWeight = plan.reduce((s, f) => s + f.weight, 0);
  const mean = i.sizing.meanMessages;
  const count = roles.big ? i.sizing.bigMailboxMessages : mean <= 20 ? mean : 20 + rnd.int(2 * mean - 39);
  const domain = person.upn.split('@')[1] ?? 'forest-a.test';

  const pending: Pending[] = [];
  for (let n = 0; n < count; n++) {
    const folder = pickFolder(rnd, plan, totalWeight);
    const date = new Date(START + Math.floor((rnd.next() * (END - START)) / 1000) * 1000);
    pending.push({
      folder,
      date,
      draw: drawSize(rnd, roles.big),
      messageId: rnd.chance(0.01) ? null : `${person.sam}.${n}.${date.getTime().toString(36)}@${domain}`,
      eightBit: rnd.chance(0.02),
    });
  }
  const inbox = plan[0] as FolderPlan;
  if (roles.showcase || roles.big) {
    const at = (d: number) => new Date(END - d * 86_400_000);
    pending.push({
      folder: inbox,
      date: at(40),
      draw: { kind: 'attachment', size: 5_000_000 },
      messageId: `big-attachment.${person.sam}@${domain}`,
      eightBit: false,
      subject: 'Scans of the signed contracts (5 MB)',
    });
  }
  if (roles.showcase) {
    const at = (d: number) => new Date(END - d * 86_400_000);
    pending.push(
      {
        folder: inbox,
        date: at(100),
        draw: { kind: 'plain', size: 1500 },
        messageId: null,
        eightBit: false,
        subject: 'No Message-ID on this one',
      },
      {
        folder: inbox,
        date: at(90),
        draw: { kind: 'plain', size: 2000 },
        messageId: `duplicate-id@${domain}`,
        eightBit: false,
        subject: 'Same Message-ID, first message',
      },
      {
        folder: inbox,
        date: at(89),
        draw: { kind: 'html', size: 9000 },
        messageId: `duplicate-id@${domain}`,
        eightBit: false,
        subject: 'Same Message-ID, second (different) message',
      },
      {
        folder: inbox,
        date: at(80),
        draw: { kind: 'plain', size: 1800 },
        messageId: `raw-8bit@${domain}`,
        eightBit: true,
        subject: 'Grüße aus Kraków – 8-bit Kopfzeilen',
      },
      {
        folder: inbox,
        date: at(70),
        draw: { kind: 'malformed', size: 2000 },
        messageId: `malformed-mime@${domain}`,
        eightBit: false,
        subject: 'Broken MIME boundary',
      },
    );
  }
  const calendar = plan.find((f) => f.path.length === 1 && f.path[0] === 'Calendar');
  if (calendar)
    pending.push({
      folder: calendar,
      date: new Date(END - 7 * 86_400_000),
      draw: { kind: 'calendar', size: 1500 },
      messageId: `meeting.${person.sam}@${domain}`,
      eightBit: false,
      subject: 'Steering committee',
    });

  const manifest: UserManifest = {
    upn: person.upn,
    roles: Object.entries(roles)
      .filter(([, v]) => v)
      .map(([k]) => k),
    folders: [],
    messages: 0,
    bytes: 0,
  };
  const maildir = join(i.home, 'Maildir');
  const subscriptions: string[] = [];
  for (const [fi, folder] of plan.entries()) {
    const dir = join(maildir, maildirFolderDir(folder.path));
    createMaildir(dir, folder.path.length > 0);
    const items = pending.filter((p) => p.folder === folder).sort((a, b) => a.date.getTime() - b.date.getTime());
    const key = `${seed}\u0000${person.upn}\u0000${fi}`;
    const digest = createHash('sha256').update(key).digest();
    const msgs = function* (): Generator<StoredMessage> {
      for (const [k, p] of items.entries()) {
        const outgoing = folder.specialUse === '\\Sent' || folder.specialUse === '\\Drafts';
        const other = rnd.chance(0.7) ? (i.colleagues[rnd.int(i.colleagues.length)] ?? me) : rnd.pick(EXTERNAL);
        const data = buildMessage(
          {
            kind: p.draw.kind,
            from: outgoing ? me : other,
            to: outgoing ? [other] : [me],
            subject: p.subject ?? subject(rnd),
            date: new Date(p.date.getTime() - 60_000 - rnd.int(3_600_000)),
            tzOffset: rnd.pick([0, 60, 120, -300, -180, 540]),
            messageId: p.messageId,
            size: p.draw.size,
            eightBitHeaders: p.eightBit,
            seedKey: `${key}\u0000${k}`,
          },
          rnd,
        );
        yield { data, internalDate: p.date, ...flagsFor(rnd, folder, p.date) };
      }
    };
    const totals = writeMaildirMessages(dir, msgs(), digest.readUInt32BE(0) >>> 1 || 1, digest.subarray(4, 20).toString('hex'), String(fi));
    if (folder.subscribed) subscriptions.push(subscriptionName(folder.path));
    manifest.folders.push({
      name: imapName(store, folder.path),
      ...(folder.specialUse ? { specialUse: folder.specialUse } : {}),
      messages: totals.messages,
      bytes: totals.bytes,
      subscribed: folder.subscribed,
    });
    manifest.messages += totals.messages;
    manifest.bytes += totals.bytes;
  }
  writeFileSync(join(maildir, 'subscriptions'), `V\t2\n\n${subscriptions.map((s) => `${s}\n`).join('')}`);
  return manifest;
}
