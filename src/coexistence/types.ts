// Coexistence: what users of two merging organizations need while both live.
//
// Glossary (in the seed's words):
// - coexistence: the months during which "you maintain a split organization"; users of
//   both organizations must find each other, see each other's free/busy and have their
//   mail clients follow their mailbox.
// - GAL find ("Find Contact Online", `Cmd=galfind`): a search of the global address list
//   by name prefix, display name, alias or address, across both organizations.
// - hidden object: a recipient with msExchHideFromAddressLists=TRUE (or, where configured,
//   without showInAddressBook); never returned by GAL find.
// - free/busy (`Cmd=freebusy&start=…&end=…&interval=30&u=SMTP:…`, the Inter-Organization
//   Replication tool): per person, one digit per interval slot: 0 free, 1 tentative,
//   2 busy, 3 out of office (OOF), 4 no data.
// - mailbox-enabled user: has a mailbox in its organization (Exchange: homeMDB set;
//   `directory.mailboxFilter`). A mail-enabled user (mail + targetAddress) has none: its
//   mail is routed elsewhere.
// - cutover: the moment a person's mailbox moves from the source organization to the
//   target; afterwards the target holds it, and Autodiscover / the Profile Redirector
//   must point the client at the target's servers.
// - Autodiscover / autoconfig / profile: the ways Outlook, Thunderbird and Apple devices
//   learn which IMAP/SMTP servers to use for an address.

/** Which organization holds one address's mailbox right now. */
export interface MailboxLocation {
  /** Organization id (a key of `organizations`). */
  org: string;
  /** DN of the mailbox-enabled user in that organization's directory. */
  dn: string;
  /** The user's login name there (`directory.loginAttribute`, e.g. userPrincipalName). */
  login: string;
  /** Primary SMTP address. */
  mail: string;
  displayName: string;
}

/**
 * "Which organization holds this address's mailbox". Read from the directories now; the
 * metaverse and the migration state will feed a second implementation later.
 */
export interface MailboxLocator {
  /** null when no organization holds a mailbox for the address. */
  locate(address: string): Promise<MailboxLocation | null>;
  /** Forget cached answers (after a cutover). */
  invalidate(address?: string): void;
}

export type GalObjectKind = 'person' | 'group' | 'contact';

/** One GAL find result: only allow-listed attributes ever leave the service. */
export interface GalEntry {
  displayName: string;
  kind: GalObjectKind;
  title: string | null;
  company: string | null;
  office: string | null;
  phone: string | null;
  mobile: string | null;
  alias: string | null;
  email: string | null;
  /** Organization whose directory the entry came from. */
  directory: string;
  /** Organization that holds the mailbox now (null: no mailbox, e.g. a group or contact). */
  mailboxOrg: string | null;
}

export interface GalQuery {
  /** Matched as a prefix of display name, given name, surname, alias and address. */
  text: string;
  /** 0-based offset of the first result. */
  offset: number;
  limit: number;
}

export interface GalPage {
  entries: GalEntry[];
  offset: number;
  /** Total matches (capped at the configured maximum). */
  total: number;
  /** True when more matches exist than the cap allowed to count. */
  truncated: boolean;
}

/** Where GAL find reads from: the directories now, the metaverse when GAL sync lands. */
export interface GalSource {
  search(query: GalQuery): Promise<GalPage>;
}

/** Free/busy digits, the seed's fbdata string. */
export const FB_FREE = 0;
export const FB_TENTATIVE = 1;
export const FB_BUSY = 2;
export const FB_OOF = 3;
export const FB_NO_DATA = 4;
export type FreeBusyLevel = 0 | 1 | 2 | 3 | 4;

/** A period of one level (never FB_FREE/FB_NO_DATA), half-open [start, end), epoch ms. */
export interface BusyPeriod {
  start: number;
  end: number;
  level: 1 | 2 | 3;
}

export interface FreeBusyWindow {
  start: number;
  end: number;
  intervalMinutes: number;
}

export interface PersonFreeBusy {
  address: string;
  displayName: string | null;
  /** Organization whose calendar server answered (null: nobody holds this mailbox). */
  org: string | null;
  /** One digit per slot. */
  fbdata: string;
  /** Why the digits are 4 ("no data"), if they are. */
  error?: string;
}

/** The authenticated caller of a protected route. */
export interface Caller {
  org: string;
  dn: string;
  login: string;
}
