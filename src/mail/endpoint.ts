// A MailEndpoint from the project file: one organization's store, one mailbox, sessions
// opened by the shared openMailSession (master user on behalf of the mailbox owner).
import type { LoadedProject } from '../config/load.ts';
import { defaultMailCopyOptions, type MailCopyOptions } from '../config/mail.ts';
import { type MailStoreConfig, type OrganizationConfig, pickMailStore } from '../config/organization.ts';
import { ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { openMailSession, storeAddress } from './connection.ts';
import { storeLimitsOf } from './storeThrottle.ts';
import type { IdentityMap, MailEndpoint } from './types.ts';

export function mailEndpoint(
  cfg: MailStoreConfig,
  mailbox: string,
  opts: { baseDir: string; keyPath: string; logger?: Logger },
): MailEndpoint {
  return {
    address: storeAddress(cfg),
    timeoutMs: Math.max(cfg.timeoutMs, 60_000),
    storeLimits: storeLimitsOf(cfg),
    // imapflow's own logger stays off for bulk sessions (it logs every command at debug).
    open: () => openMailSession(cfg, mailbox, { baseDir: opts.baseDir, keyPath: opts.keyPath }),
  };
}

/**
 * Source and target endpoints of one mailbox copy from the project file. `from`/`to`
 * default to the organizations whose role is source/target. Until the metaverse
 * supplies identities, ACL identifiers are translated by mail domain
 * (user@<from mailDomain> → user@<to mailDomain>); anything else is reported unmapped.
 */
export function projectCopyEndpoints(
  project: LoadedProject,
  sourceUser: string,
  targetUser: string,
  opts: {
    from?: string | undefined;
    to?: string | undefined;
    /** Which mail server of an organization with several (mailStores[].name). */
    fromServer?: string | undefined;
    toServer?: string | undefined;
    logger?: Logger;
  },
): {
  source: MailEndpoint;
  target: MailEndpoint;
  options: MailCopyOptions;
  identityMap: IdentityMap;
  /** The two organizations chosen (their calendars move with the mail: src/calendar). */
  organizations: { source: { id: string; org: OrganizationConfig }; target: { id: string; org: OrganizationConfig } };
} {
  const orgs = project.config.organizations;
  const pick = (id: string | undefined, role: 'source' | 'target'): [string, OrganizationConfig] => {
    const key = id ?? Object.keys(orgs).find((k) => orgs[k]?.role === role);
    const org = key ? orgs[key] : undefined;
    if (!key || !org) {
      throw new ConfigError(`no organization ${id ? `"${id}"` : `with role ${role}`} in ${project.path}`, {
        object: id ?? role,
        hint: `use --${role === 'source' ? 'from' : 'to'} with one of: ${Object.keys(orgs).join(', ')}`,
      });
    }
    return [key, org];
  };
  const [fromId, from] = pick(opts.from, 'source');
  const [toId, to] = pick(opts.to, 'target');
  const suffix = `@${from.mailDomain.toLowerCase()}`;
  const src = pickMailStore(from, fromId, opts.fromServer, '--source-server');
  const tgt = pickMailStore(to, toId, opts.toServer, '--target-server');
  return {
    source: mailEndpoint(src, sourceUser, { baseDir: project.baseDir, keyPath: src.keyPath }),
    target: mailEndpoint(tgt, targetUser, { baseDir: project.baseDir, keyPath: tgt.keyPath }),
    options: project.config.mail ?? defaultMailCopyOptions(),
    identityMap: (id) => (id.toLowerCase().endsWith(suffix) ? `${id.slice(0, -suffix.length)}@${to.mailDomain}` : undefined),
    organizations: { source: { id: fromId, org: from }, target: { id: toId, org: to } },
  };
}
