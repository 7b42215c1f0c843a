// HTTP Basic credentials checked by an LDAP bind against the user's own forest: the
// service account finds the user's entry by login name or address, then the user's
// DN binds with the given password. The password is never logged or kept.
import { ldapFilter } from '../directory/escape.ts';
import { firstString, type OrgDirectory } from './orgDirectory.ts';
import type { Caller } from './types.ts';

export interface BasicCredentials {
  user: string;
  password: string;
}

/** Parses an `Authorization: Basic …` header; null when absent or malformed. */
export function parseBasicAuth(header: string | undefined): BasicCredentials | null {
  if (header === undefined) return null;
  const m = /^Basic[ ]+([A-Za-z0-9+/=]{1,2048})$/i.exec(header.trim());
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (user.length > 256 || password.length > 1024 || [...user].some((c) => c.charCodeAt(0) < 0x20)) return null;
  return { user, password };
}

export class DirectoryAuthenticator {
  readonly #dirs: OrgDirectory[];

  constructor(dirs: OrgDirectory[]) {
    this.#dirs = dirs;
  }

  /** The caller, or null when the user is unknown, ambiguous or the password is wrong. */
  async authenticate(creds: BasicCredentials): Promise<Caller | null> {
    if (creds.password === '') return null;
    const candidates: Caller[] = [];
    for (const dir of this.#dirs) {
      const login = dir.config.loginAttribute;
      const filter = ldapFilter`(&(objectClass=user)(|(${login}=${creds.user})(mail=${creds.user})))`;
      for (const e of await dir.search(filter, [login], 2)) {
        candidates.push({ org: dir.org, dn: e.dn, login: firstString(e, login) ?? creds.user });
      }
    }
    // A name that matches several accounts is refused rather than guessed.
    if (candidates.length !== 1) return null;
    const caller = candidates[0] as Caller;
    const dir = this.#dirs.find((d) => d.org === caller.org);
    return dir && (await dir.verifyPassword(caller.dn, creds.password)) ? caller : null;
  }
}
