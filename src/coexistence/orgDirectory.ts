// Read access to each organization's directory with its configured (least-privilege)
// account: one connection per call, closed in `finally`, every operation under the
// directory's timeout. Coexistence reads are small and rare enough not to need a pool.
import type { Entry } from 'ldapts';
import type { LoadedProject } from '../config/load.ts';
import type { DirectoryConfig } from '../config/organization.ts';
import { connectDirectory } from '../directory/connection.ts';
import { toDirectoryError } from '../directory/errors.ts';

export interface OrgDirectory {
  org: string;
  config: DirectoryConfig;
  /** Subtree search below baseDn; at most `sizeLimit` entries. */
  search(filter: string, attributes: string[], sizeLimit: number): Promise<Entry[]>;
  /** True when `dn` binds with `password` (the user's own credentials). */
  verifyPassword(dn: string, password: string): Promise<boolean>;
}

export function orgDirectories(project: LoadedProject): OrgDirectory[] {
  const orgs = project.config.organizations;
  // Targets first: after cutover a person's mailbox is in the target (the seed's order of truth).
  const ids = Object.keys(orgs).sort((x, y) => Number(orgs[x]?.role !== 'target') - Number(orgs[y]?.role !== 'target'));
  return ids.map((org) => orgDirectory(project, org));
}

export function orgDirectory(project: LoadedProject, org: string): OrgDirectory {
  const cfg = project.config.organizations[org]?.directory;
  if (!cfg) throw new Error(`organization ${org} is not in the project file`);
  const keyPath = `organizations.${org}.directory`;
  const opts = { baseDir: project.baseDir, keyPath };
  return {
    org,
    config: cfg,
    async search(filter, attributes, sizeLimit) {
      const conn = await connectDirectory(cfg, opts);
      const out: Entry[] = [];
      try {
        // Paged, and we stop reading once we have enough: a size limit would make the
        // server answer sizeLimitExceeded and ldapts would drop the entries it had.
        const pages = conn.client.searchPaginated(cfg.baseDn, {
          scope: 'sub',
          filter,
          attributes,
          timeLimit: Math.ceil(cfg.timeoutMs / 1000),
          paged: { pageSize: Math.min(500, sizeLimit) },
        });
        for await (const page of pages) {
          out.push(...page.searchEntries);
          if (out.length >= sizeLimit) break;
        }
        return out.slice(0, sizeLimit);
      } catch (err) {
        throw toDirectoryError(err, `search ${cfg.baseDn}`, cfg.url);
      } finally {
        await conn.close();
      }
    },
    async verifyPassword(dn, password) {
      // An empty password is an unauthenticated bind (RFC 4513 5.1.2) that "succeeds": never accept it.
      if (password === '') return false;
      try {
        const conn = await connectDirectory(cfg, { ...opts, bindAs: { dn, password } });
        await conn.close();
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === 'CF_ERR_LDAP_BIND') return false;
        throw err;
      }
    },
  };
}

/** First value of an attribute as a string (ldapts gives string | string[] | Buffer …). */
export function firstString(entry: Entry, name: string): string | null {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key === undefined ? undefined : entry[key];
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined) return null;
  const s = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  return s === '' ? null : s;
}

export function allStrings(entry: Entry, name: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key === undefined ? undefined : entry[key];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}
