// GAL find read straight from the directories (the metaverse becomes the second
// GalSource when GAL sync lands). People and groups with a mail address, never hidden
// objects, only allow-listed attributes. Contacts are left out: while both
// organizations coexist each forest's contacts mirror the other forest's people, who
// are already found in their own directory (duplicates are folded by address anyway).
import type { Entry } from 'ldapts';
import { ldapFilter } from '../directory/escape.ts';
import { allStrings, firstString, type OrgDirectory } from './orgDirectory.ts';
import type { GalEntry, GalPage, GalQuery, GalSource, MailboxLocator } from './types.ts';

/** The only attributes GAL find ever reads (and so can ever return). */
export const GAL_ATTRIBUTES = [
  'objectClass',
  'displayName',
  'cn',
  'title',
  'company',
  'physicalDeliveryOfficeName',
  'telephoneNumber',
  'mobile',
  'mailNickname',
  'mail',
] as const;

export interface GalOptions {
  maxResults: number;
  /** Hide objects without showInAddressBook (AD with Exchange address lists). */
  requireShowInAddressBook: boolean;
}

/** The search filter for one prefix text (exported for the unit tests). */
export function galFilter(text: string, opts: Pick<GalOptions, 'requireShowInAddressBook'>): string {
  const match = ldapFilter`(|(displayName=${text}*)(cn=${text}*)(givenName=${text}*)(sn=${text}*)(mailNickname=${text}*)(mail=${text}*)(proxyAddresses=smtp:${text}*))`;
  const visible = `(!(msExchHideFromAddressLists=TRUE))${opts.requireShowInAddressBook ? '(showInAddressBook=*)' : ''}`;
  return `(&(|(objectClass=user)(objectClass=group))(mail=*)${visible}${match})`;
}

export class DirectoryGalSource implements GalSource {
  readonly #dirs: OrgDirectory[];
  readonly #locator: MailboxLocator;
  readonly #opts: GalOptions;

  constructor(dirs: OrgDirectory[], locator: MailboxLocator, opts: GalOptions) {
    this.#dirs = dirs;
    this.#locator = locator;
    this.#opts = opts;
  }

  async search(q: GalQuery): Promise<GalPage> {
    const filter = galFilter(q.text, this.#opts);
    const cap = this.#opts.maxResults;
    const perOrg = await Promise.all(
      this.#dirs.map(async (d) => (await d.search(filter, [...GAL_ATTRIBUTES], cap + 1)).map((e) => toGalEntry(d.org, e))),
    );
    // One person found in both forests (a mail-enabled user beside the mailbox) is listed once.
    const byAddress = new Map<string, GalEntry>();
    for (const entry of perOrg.flat()) {
      const key = entry.email?.toLowerCase() ?? `${entry.directory}:${entry.displayName}`;
      if (!byAddress.has(key)) byAddress.set(key, entry);
    }
    const all = [...byAddress.values()].sort(
      (x, y) => x.displayName.localeCompare(y.displayName) || (x.email ?? '').localeCompare(y.email ?? ''),
    );
    const truncated = all.length > cap;
    const capped = all.slice(0, cap);
    const entries = capped.slice(q.offset, q.offset + q.limit);
    // Only the page shown pays for "which org holds the mailbox now".
    await Promise.all(
      entries.map(async (e) => {
        if (e.kind === 'person' && e.email) e.mailboxOrg = (await this.#locator.locate(e.email))?.org ?? null;
      }),
    );
    return { entries, offset: q.offset, total: capped.length, truncated };
  }
}

function toGalEntry(org: string, e: Entry): GalEntry {
  const classes = allStrings(e, 'objectClass').map((c) => c.toLowerCase());
  return {
    displayName: firstString(e, 'displayName') ?? firstString(e, 'cn') ?? '',
    kind: classes.includes('group') ? 'group' : 'person',
    title: firstString(e, 'title'),
    company: firstString(e, 'company'),
    office: firstString(e, 'physicalDeliveryOfficeName'),
    phone: firstString(e, 'telephoneNumber'),
    mobile: firstString(e, 'mobile'),
    alias: firstString(e, 'mailNickname'),
    email: firstString(e, 'mail'),
    directory: org,
    mailboxOrg: null,
  };
}
