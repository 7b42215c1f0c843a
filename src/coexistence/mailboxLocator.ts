// "Which organization holds this address's mailbox right now", read from the
// directories: mailbox-enabled (directory.mailboxFilter) in a target organization wins,
// else mailbox-enabled in a source; a mail-enabled user (mail + targetAddress, no
// homeMDB) has no mailbox and is never the answer. Answers are cached briefly so a page
// of GAL results or a free/busy request for 50 people costs few LDAP round trips.
import type { Entry } from 'ldapts';
import { ldapFilter } from '../directory/escape.ts';
import { firstString, type OrgDirectory } from './orgDirectory.ts';
import type { MailboxLocation, MailboxLocator } from './types.ts';

export interface LocatorOptions {
  /** Seconds an answer (also "nobody") is reused; 0 = always ask the directories. */
  cacheSeconds: number;
  /** Most cached addresses; the oldest are dropped first. Default 10,000. */
  maxEntries?: number;
  now?: () => number;
}

/** Lower-cased, trimmed, without an `SMTP:` prefix (the seed's `u=SMTP:…`). */
export function normalizeAddress(address: string): string {
  return address
    .trim()
    .replace(/^smtp:/i, '')
    .toLowerCase();
}

export class DirectoryMailboxLocator implements MailboxLocator {
  readonly #dirs: OrgDirectory[];
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { value: MailboxLocation | null; expires: number }>();

  /** `dirs` in order of precedence: targets first (orgDirectories() sorts them so). */
  constructor(dirs: OrgDirectory[], opts: LocatorOptions) {
    this.#dirs = dirs;
    this.#ttlMs = opts.cacheSeconds * 1000;
    this.#max = opts.maxEntries ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  async locate(address: string): Promise<MailboxLocation | null> {
    const key = normalizeAddress(address);
    const hit = this.#cache.get(key);
    if (hit && hit.expires > this.#now()) return hit.value;
    let value: MailboxLocation | null = null;
    for (const dir of this.#dirs) {
      value = await this.#find(dir, key);
      if (value) break;
    }
    if (this.#ttlMs > 0) {
      this.#cache.delete(key);
      if (this.#cache.size >= this.#max) {
        const oldest = this.#cache.keys().next().value;
        if (oldest !== undefined) this.#cache.delete(oldest);
      }
      this.#cache.set(key, { value, expires: this.#now() + this.#ttlMs });
    }
    return value;
  }

  invalidate(address?: string): void {
    if (address === undefined) this.#cache.clear();
    else this.#cache.delete(normalizeAddress(address));
  }

  async #find(dir: OrgDirectory, address: string): Promise<MailboxLocation | null> {
    const login = dir.config.loginAttribute;
    // mailboxFilter comes from the project file (trusted); the address is escaped.
    // A user that routes elsewhere (targetAddress) is mail-enabled, not a mailbox, whatever the filter says.
    const filter = `(&${dir.config.mailboxFilter}(!(targetAddress=*))${ldapFilter`(|(mail=${address})(proxyAddresses=smtp:${address})(${login}=${address}))`})`;
    const entries = await dir.search(filter, ['mail', 'displayName', login], 2);
    // Two mailboxes for one address is a directory error; answer with neither rather than guess.
    if (entries.length !== 1) return null;
    return toLocation(dir.org, entries[0] as Entry, login);
  }
}

function toLocation(org: string, e: Entry, loginAttribute: string): MailboxLocation {
  const mail = firstString(e, 'mail') ?? '';
  return { org, dn: e.dn, login: firstString(e, loginAttribute) ?? mail, mail, displayName: firstString(e, 'displayName') ?? mail };
}
