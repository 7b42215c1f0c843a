// The sample users of one forest, as plain records, generated lazily and
// deterministically from (forest, seed, index order). The directory loader turns them
// into LDIF; the mail-store half builds forest A's mailboxes from the same records.
//
// Memory stays bounded at any --size: the only state kept across records is a counter
// per distinct name (bounded by the size of the name lists), used to make duplicate
// names ("John Smith" ×3) get distinct cn / sAMAccountName / mail.
import { FORESTS, type ForestId, mailboxStoreDnOf } from '../forests.ts';
import { GIVEN_NAMES, JAPANESE_NAMES, SITES, SURNAMES, TITLES } from './names.ts';
import { asciiFold, createPrng, deterministicGuid } from './prng.ts';

export const DEFAULT_SIZE = 50;
export const DEFAULT_SEED = 'crossforest';

/** How a user receives mail. */
export type MailKind =
  /** Mailbox in this forest's store: has `homeMDB`, can log in to IMAP. */
  | 'mailbox'
  /** Mail-enabled only: `mail` + `targetAddress` elsewhere, no `homeMDB`, no IMAP login. */
  | 'mail-enabled'
  /** No mail at all (no `mail`, no proxyAddresses): GAL sync must filter it out. */
  | 'none';

export interface SamplePerson {
  forest: ForestId;
  /** Position in the forest's sequence (0-based); stable for a given seed. */
  index: number;
  dn: string;
  /** Site display name, also the OU name under ou=Sites (may be non-ASCII). */
  site: string;
  sam: string;
  /** `sam@forest-x.test`: the IMAP login name. */
  upn: string;
  /** Primary SMTP address; null when mailKind is 'none'. */
  mail: string | null;
  mailNickname: string | null;
  givenName: string;
  sn: string;
  cn: string;
  displayName: string;
  title: string;
  company: string;
  phone: string;
  office: string;
  /** `SMTP:` primary, `smtp:` aliases, `X500:` / `X400:` legacy addresses; empty when no mail. */
  proxyAddresses: string[];
  /** `/o=ForestA/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=<alias>`; null when no mail. */
  legacyExchangeDN: string | null;
  /** 16 bytes, deterministic. */
  objectGUID: Buffer;
  mailKind: MailKind;
  hasMailbox: boolean;
  /** The mailbox database DN (the forest's store that serves it: storeOfIndex) when hasMailbox. */
  homeMDB: string | null;
  /** `SMTP:…` for mail-enabled users; null otherwise. */
  targetAddress: string | null;
  /** msExchHideFromAddressLists = TRUE. */
  hidden: boolean;
  /** Exchange 5.5-era values (cosine otherMailbox syntax `type$mailbox`). */
  otherMailbox: string[];
  /** X.400 address (cosine textEncodedORAddress); null for most users. */
  textEncodedORAddress: string | null;
  userAccountControl: number;
}

/** Fixed people at the head of each forest, so even a tiny lab has every case. */
interface Special {
  given: string;
  sn: string;
  givenLatin?: string;
  snLatin?: string;
  kind?: MailKind;
  hidden?: boolean;
  legacy55?: boolean;
}

const SPECIALS: Record<ForestId, readonly Special[]> = {
  a: [
    { given: 'José', sn: 'Müller' },
    { given: 'Zoë', sn: 'Ångström' },
    { given: 'Łukasz', sn: 'Wiśniewski' },
    { given: '太郎', sn: '山田', givenLatin: 'Taro', snLatin: 'Yamada' },
    { given: 'John', sn: 'Smith' },
    { given: 'John', sn: 'Smith', legacy55: true },
    { given: 'John', sn: 'Smith' },
    { given: 'Nomail', sn: 'Kiosk', kind: 'none' },
    { given: 'Hidden', sn: 'Executive', hidden: true },
    { given: 'Renée', sn: "O'Brien", legacy55: true },
  ],
  b: [
    { given: 'Søren', sn: 'Ødegård' },
    { given: 'Chloé', sn: 'Dubois' },
    { given: '花子', sn: '佐藤', givenLatin: 'Hanako', snLatin: 'Sato' },
    { given: 'John', sn: 'Smith' },
    { given: 'John', sn: 'Smith' },
    { given: 'Contractor', sn: 'Weiß', kind: 'mail-enabled' },
    { given: 'Nomail', sn: 'Scanner', kind: 'none' },
    { given: 'Hidden', sn: 'Board', hidden: true },
    { given: 'Paul', sn: 'Keller', kind: 'mail-enabled' },
  ],
};

export function legacyExchangeDnFor(forest: ForestId, alias: string): string {
  return `/o=${FORESTS[forest].orgName}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=${alias}`;
}

/** Quote-safe DN attribute value (RFC 4514 escaping of the specials). */
export function escapeDnValue(v: string): string {
  return v
    .replace(/[\\,+"<>;=#]/g, (c) => `\\${c}`)
    .replace(/^ /, '\\ ')
    .replace(/ $/, '\\ ');
}

export function siteDn(forest: ForestId, site: string): string {
  return `ou=${escapeDnValue(site)},${FORESTS[forest].sitesDn}`;
}

/** Company name per forest. */
export function companyOf(forest: ForestId): string {
  return forest === 'a' ? 'Forest A Inc.' : 'Forest B AG';
}

/**
 * Which of a forest's `stores` mail stores (1-based) holds the mailbox of sample user
 * `index`: round robin by sample index (`lab up --stores N`). With one store, store 1.
 */
export function storeOfIndex(index: number, stores = 1): number {
  return 1 + (index % Math.max(1, stores));
}

/**
 * The forest's sample users. `stores` (the lab's mail servers per forest, default 1)
 * only decides each mailbox user's homeMDB (storeOfIndex); everything else is the same
 * whatever the store count.
 */
export function* samplePeople(
  forest: ForestId,
  size: number = DEFAULT_SIZE,
  seed: string = DEFAULT_SEED,
  stores = 1,
): Generator<SamplePerson> {
  const f = FORESTS[forest];
  const rnd = createPrng('people', seed, forest);
  const cnCount = new Map<string, number>();
  const samCount = new Map<string, number>();
  const localCount = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string): number => {
    const n = (m.get(k) ?? 0) + 1;
    m.set(k, n);
    return n;
  };
  const sites = SITES[forest];

  for (let index = 0; index < size; index++) {
    const special = SPECIALS[forest][index];
    let given: string;
    let sn: string;
    let givenLatin: string;
    let snLatin: string;
    if (special) {
      given = special.given;
      sn = special.sn;
      givenLatin = special.givenLatin ?? given;
      snLatin = special.snLatin ?? sn;
    } else if (rnd.chance(0.03)) {
      const j = rnd.pick(JAPANESE_NAMES);
      given = j.givenName;
      sn = j.sn;
      givenLatin = j.givenLatin;
      snLatin = j.snLatin;
    } else {
      given = rnd.pick(GIVEN_NAMES);
      sn = rnd.pick(SURNAMES);
      givenLatin = given;
      snLatin = sn;
    }
    const site = special ? (sites[index % sites.length] as (typeof sites)[number]) : rnd.pick(sites);
    const title = rnd.pick(TITLES);
    const r = rnd.next();
    const mailKind: MailKind = special?.kind ?? (r < 0.04 ? 'none' : forest === 'b' && r < 0.1 ? 'mail-enabled' : 'mailbox');
    const hidden = mailKind !== 'none' && (special?.hidden ?? rnd.chance(0.02));
    const legacy55 = mailKind !== 'none' && (special?.legacy55 ?? rnd.chance(0.05));

    // Japanese names display family name first, as in Japan.
    const isJapanese = given !== givenLatin;
    const displayName = isJapanese ? `${sn} ${given}` : `${given} ${sn}`;
    const nCn = bump(cnCount, displayName);
    const samBase = `${asciiFold(givenLatin).slice(0, 1)}${asciiFold(snLatin)}`.slice(0, 16) || 'user';
    const nSam = bump(samCount, samBase);
    const sam = nSam === 1 ? samBase : `${samBase}${nSam}`;
    const cn = nCn === 1 ? displayName : `${displayName} (${sam})`;
    const localBase = `${asciiFold(givenLatin)}.${asciiFold(snLatin)}`;
    const nLocal = bump(localCount, localBase);
    const local = nLocal === 1 ? localBase : `${localBase}${nLocal}`;

    const mail = mailKind === 'none' ? null : `${local}@${f.mailDomain}`;
    const proxyAddresses: string[] = [];
    let legacyExchangeDN: string | null = null;
    const otherMailbox: string[] = [];
    let textEncodedORAddress: string | null = null;
    if (mail) {
      proxyAddresses.push(`SMTP:${mail}`, `smtp:${sam}@${f.mailDomain}`);
      legacyExchangeDN = legacyExchangeDnFor(forest, sam);
      if (legacy55) {
        // An Exchange 5.5 migrant: an X.400 address, a cc:Mail-era mailbox and the old
        // site-based legacy DN kept as an X500 proxy (bounces without it).
        textEncodedORAddress = `c=US;a= ;p=${f.orgName};o=${asciiFold(site.name)};s=${asciiFold(snLatin)};g=${asciiFold(givenLatin)};`;
        otherMailbox.push(`ccmail$${snLatin}, ${givenLatin} at ${asciiFold(site.name)}`.replace(/[^\x20-\x7e]/g, ''));
        proxyAddresses.push(`X400:${textEncodedORAddress}`, `X500:/o=${f.orgName}/ou=${asciiFold(site.name)}/cn=Recipients/cn=${sam}`);
      }
    }
    const targetAddress = mailKind === 'mail-enabled' ? `SMTP:${local}@contractors.example` : null;
    if (targetAddress) proxyAddresses.push(targetAddress.replace(/^SMTP:/, 'smtp:'));

    yield {
      forest,
      index,
      dn: `cn=${escapeDnValue(cn)},${siteDn(forest, site.name)}`,
      site: site.name,
      sam,
      upn: `${sam}@${f.mailDomain}`,
      mail,
      mailNickname: mail ? sam : null,
      givenName: given,
      sn,
      cn,
      displayName,
      title,
      company: companyOf(forest),
      phone: `${site.phone} ${String(1000 + index).slice(-4)}`,
      office: site.name,
      proxyAddresses,
      legacyExchangeDN,
      objectGUID: deterministicGuid(seed, forest, 'user', String(index)),
      mailKind,
      hasMailbox: mailKind === 'mailbox',
      homeMDB: mailKind === 'mailbox' ? (stores > 1 ? mailboxStoreDnOf(forest, storeOfIndex(index, stores)) : f.mailboxStoreDn) : null,
      targetAddress,
      hidden,
      otherMailbox,
      textEncodedORAddress,
      // 512 = NORMAL_ACCOUNT; the no-mail kiosk accounts are disabled (514) like real ones.
      userAccountControl: mailKind === 'none' ? 514 : 512,
    };
  }
}
