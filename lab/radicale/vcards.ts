// The vCards of a user's `contacts` address book: colleagues of both organizations (the
// sample users, names with accents and in Japanese script) and external partners, as
// vCard 4.0 (RFC 6350) and 3.0 (RFC 2426), with several EMAIL and TEL, ORG, TITLE, ADR,
// some with a small PHOTO (a PNG data: URI in 4.0, a base64 JPEG in 3.0) and one
// contact group (KIND:group with MEMBERs). Every card has a UID; the first two cards of
// every address book are a 4.0 and a 3.0 with a photo.

import { GIVEN_NAMES, SURNAMES } from '../org/names.ts';
import { companyOf, type SamplePerson } from '../org/people.ts';
import { asciiFold, type Prng } from '../org/prng.ts';
import { type CollectionItem, type ItemContext, itemUid } from './calendarItems.ts';
import { line, lines, text, utcValue } from './icalText.ts';
import { photoJpeg, photoPng } from './photos.ts';

export const VCARD_KINDS = ['vcard4', 'vcard3', 'vcard4-photo', 'vcard3-photo', 'group'] as const;

/** What a card is made from: a sample user of either forest, or an external partner. */
export interface CardPerson {
  given: string;
  family: string;
  /** FN: the display name (family name first for Japanese names, as the directory has it). */
  name: string;
  email: string;
  org: string;
  unit?: string;
  title?: string;
  phone?: string;
  site?: string;
}

const ADDRESSES: Record<string, [street: string, city: string, region: string, code: string, country: string]> = {
  Atlanta: ['1180 Peachtree St NE', 'Atlanta', 'GA', '30309', 'USA'],
  Berlin: ['Friedrichstraße 68', 'Berlin', '', '10117', 'Deutschland'],
  'São Paulo': ['Avenida Paulista, 1000', 'São Paulo', 'SP', '01310-100', 'Brasil'],
  Kraków: ['ulica Floriańska 15', 'Kraków', '', '31-019', 'Polska'],
  Zürich: ['Bahnhofstrasse 1', 'Zürich', 'ZH', '8001', 'Schweiz'],
  Tokyo: ['丸の内1-1', '千代田区', '東京都', '100-0005', '日本'],
  Montréal: ['1000, rue Sherbrooke Ouest', 'Montréal', 'QC', 'H3A 3G4', 'Canada'],
};

const PARTNERS = [
  'Müller & Söhne GmbH',
  'Łódź Logistics Sp. z o.o.',
  'Café Crème SARL',
  'Northwind Traders',
  'Fabrikam, Inc.',
  'Açaí Comércio Ltda.',
];
const PARTNER_DOMAINS = ['example.com', 'example.net', 'example.org'];

/** A sample user as a card. */
export function cardOfPerson(p: SamplePerson): CardPerson {
  return {
    given: p.givenName,
    family: p.sn,
    name: p.displayName,
    email: p.mail ?? p.upn,
    org: companyOf(p.forest),
    unit: p.site,
    title: p.title,
    phone: p.phone,
    site: p.site,
  };
}

function partner(rnd: Prng): CardPerson {
  const given = rnd.pick(GIVEN_NAMES);
  const family = rnd.pick(SURNAMES);
  return {
    given,
    family,
    name: `${given} ${family}`,
    email: `${asciiFold(given)}.${asciiFold(family)}@${rnd.pick(PARTNER_DOMAINS)}`,
    org: rnd.pick(PARTNERS),
    title: rnd.chance(0.5) ? 'Account Executive' : undefined,
    phone: `+1 555 01${String(rnd.int(100)).padStart(2, '0')}`,
  };
}

/** `+49 30 5550 1234` as a tel: URI (RFC 3966 global number, visual separators `-`). */
function telUri(phone: string): string {
  return `tel:${phone.trim().replace(/\s+/g, '-')}`;
}

function mobileOf(rnd: Prng): string {
  return `+49 151 ${String(1000_0000 + rnd.int(9000_0000))}`;
}

interface CardOptions {
  version: '4.0' | '3.0';
  photo: boolean;
  homeEmail: boolean;
  mobile: boolean;
  address: boolean;
  note?: string;
}

function vcard(uid: string, rev: number, c: CardPerson, o: CardOptions, rnd: Prng): string {
  const v4 = o.version === '4.0';
  const out = ['BEGIN:VCARD', line('VERSION', o.version), line('PRODID', '-//crossforest//lab address book//EN')];
  out.push(line('UID', v4 ? `urn:uuid:${uid}` : uid));
  if (v4) out.push(line('KIND', 'individual'));
  out.push(line('FN', text(c.name)), line('N', [c.family, c.given, '', '', ''].map(text).join(';')));
  out.push(line('ORG', [c.org, ...(c.unit ? [c.unit] : [])].map(text).join(';')));
  if (c.title) out.push(line('TITLE', text(c.title)));
  out.push(line('EMAIL', c.email, v4 ? { TYPE: 'work', PREF: '1' } : { TYPE: ['INTERNET', 'WORK', 'PREF'] }));
  if (o.homeEmail) {
    const home = `${c.email.split('@')[0]}@example.net`;
    out.push(line('EMAIL', home, v4 ? { TYPE: 'home' } : { TYPE: ['INTERNET', 'HOME'] }));
  }
  if (c.phone)
    out.push(
      v4 ? line('TEL', telUri(c.phone), { VALUE: 'uri', TYPE: ['work', 'voice'] }) : line('TEL', c.phone, { TYPE: ['WORK', 'VOICE'] }),
    );
  if (o.mobile) {
    const m = mobileOf(rnd);
    out.push(v4 ? line('TEL', telUri(m), { VALUE: 'uri', TYPE: 'cell' }) : line('TEL', m, { TYPE: 'CELL' }));
  }
  const adr = c.site ? ADDRESSES[c.site] : undefined;
  if (o.address && adr) {
    const [street, city, region, code, country] = adr;
    out.push(line('ADR', ['', '', street, city, region, code, country].map(text).join(';'), { TYPE: v4 ? 'work' : 'WORK' }));
  }
  if (o.note) out.push(line('NOTE', text(o.note)));
  if (o.photo) {
    out.push(
      v4
        ? line('PHOTO', `data:image/png;base64,${photoPng(c.email).toString('base64')}`)
        : line('PHOTO', photoJpeg(c.email).toString('base64'), { ENCODING: 'b', TYPE: 'JPEG' }),
    );
  }
  out.push(line('REV', utcValue(rev)), 'END:VCARD');
  return lines(out);
}

function group(uid: string, rev: number, name: string, members: string[]): string {
  const out = [
    'BEGIN:VCARD',
    line('VERSION', '4.0'),
    line('PRODID', '-//crossforest//lab address book//EN'),
    line('UID', `urn:uuid:${uid}`),
  ];
  out.push(line('KIND', 'group'), line('FN', text(name)));
  for (const m of members) out.push(line('MEMBER', `urn:uuid:${m}`));
  out.push(line('REV', utcValue(rev)), 'END:VCARD');
  return lines(out);
}

/**
 * `count` cards: colleagues first (shuffled from `people`, the user excluded), about a
 * fifth external partners, more partners when the colleagues run out; card 3 is a group
 * of the first two.
 */
export function userContacts(ctx: ItemContext, count: number, people: readonly CardPerson[]): CollectionItem[] {
  const r = ctx.rnd;
  const colleagues = people.filter((p) => p.email !== ctx.user.email);
  // A partial Fisher-Yates shuffle: only as many as needed.
  const pool = colleagues.slice();
  const out: CollectionItem[] = [];
  const rev = ctx.anchor - 10 * 86_400_000;
  let taken = 0;
  for (let n = 0; n < count; n++) {
    const uid = itemUid(ctx, 'contacts', n);
    if (n === 2 && count > 3) {
      const members = [out[0]?.uid, out[1]?.uid].filter((m): m is string => m !== undefined);
      out.push({ uid, kind: 'group', text: group(uid, rev, 'Projekt Übernahme – Kernteam', members) });
      continue;
    }
    let who: CardPerson;
    if (taken < pool.length && !(n > 3 && r.chance(0.2))) {
      const j = taken + r.int(pool.length - taken);
      [pool[taken], pool[j]] = [pool[j] as CardPerson, pool[taken] as CardPerson];
      who = pool[taken++] as CardPerson;
    } else who = partner(r);
    const version = n === 0 ? '4.0' : n === 1 ? '3.0' : r.chance(0.55) ? '4.0' : '3.0';
    const photo = n < 2 || r.chance(0.2);
    const o: CardOptions = {
      version,
      photo,
      homeEmail: r.chance(0.3),
      mobile: r.chance(0.5),
      address: r.chance(0.4),
      note: r.chance(0.15) ? 'Ansprechpartner für die Übernahme; bitte in CC, merci.' : undefined,
    };
    out.push({ uid, kind: `${version === '4.0' ? 'vcard4' : 'vcard3'}${photo ? '-photo' : ''}`, text: vcard(uid, rev, who, o, r) });
  }
  return out;
}
