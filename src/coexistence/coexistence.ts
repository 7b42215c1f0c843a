// Everything `crossforest serve` needs, built once from the project file: the
// directories, the mailbox locator, GAL find, login checks, and free/busy readers.

import type { CoexistenceConfig } from '../config/coexistence.ts';
import type { LoadedProject } from '../config/load.ts';
import { ConfigError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import type { ClientSettings } from './autoconfig.ts';
import { CalendarReader } from './calendarReader.ts';
import { FreeBusyService } from './freeBusyService.ts';
import { DirectoryGalSource } from './galSource.ts';
import { LoginThrottle } from './loginThrottle.ts';
import { DirectoryMailboxLocator, normalizeAddress } from './mailboxLocator.ts';
import { orgDirectories } from './orgDirectory.ts';
import type { GalSource, MailboxLocator } from './types.ts';
import { DirectoryAuthenticator } from './userAuthenticator.ts';

export interface Coexistence {
  config: CoexistenceConfig;
  locator: MailboxLocator;
  gal: GalSource;
  auth: DirectoryAuthenticator;
  throttle: LoginThrottle;
  freeBusy: FreeBusyService;
  readers: CalendarReader[];
  /** The servers a client should use for `address` now; null when no organization serves it. */
  clientSettings(address: string): Promise<ClientSettings | null>;
}

export function coexistenceConfig(project: LoadedProject): CoexistenceConfig {
  const cfg = project.config.coexistence;
  if (!cfg) {
    throw new ConfigError(`${project.path} has no coexistence section`, {
      object: 'coexistence',
      hint: '`crossforest init --print` shows a commented coexistence section (listen, tls, organizations.<id>.imap/smtp/caldav)',
    });
  }
  for (const org of Object.keys(project.config.organizations)) {
    if (!cfg.organizations[org]) {
      throw new ConfigError(`coexistence.organizations has no entry for organization ${org}`, {
        object: `coexistence.organizations.${org}`,
        hint: `add coexistence.organizations.${org} with its imap and smtp servers`,
      });
    }
  }
  for (const org of Object.keys(cfg.organizations)) {
    if (!project.config.organizations[org]) {
      const known = Object.keys(project.config.organizations).join(', ');
      throw new ConfigError(`coexistence.organizations.${org} names no organization (known: ${known})`, {
        object: `coexistence.organizations.${org}`,
        hint: 'use the same ids as organizations',
      });
    }
  }
  return cfg;
}

export function createCoexistence(project: LoadedProject, log: Logger): Coexistence {
  const config = coexistenceConfig(project);
  const dirs = orgDirectories(project);
  const locator = new DirectoryMailboxLocator(dirs, { cacheSeconds: config.mailboxCacheSeconds });
  const readers = Object.entries(config.organizations).flatMap(([org, o]) =>
    o.caldav ? [new CalendarReader(org, o.caldav, project.baseDir)] : [],
  );
  const orgs = project.config.organizations;
  return {
    config,
    locator,
    gal: new DirectoryGalSource(dirs, locator, config.gal),
    auth: new DirectoryAuthenticator(dirs),
    throttle: new LoginThrottle(config.loginFailures),
    freeBusy: new FreeBusyService(locator, readers, log.child({ scope: 'freebusy' })),
    readers,
    async clientSettings(address) {
      const email = normalizeAddress(address);
      const where = await locator.locate(email);
      // Unknown address: the organization of its domain answers with the address as the
      // login, so the answer does not tell a stranger whether the mailbox exists.
      const domain = email.slice(email.lastIndexOf('@') + 1);
      const org = where?.org ?? Object.keys(orgs).find((id) => orgs[id]?.mailDomain.toLowerCase() === domain);
      const servers = org === undefined ? undefined : config.organizations[org];
      if (org === undefined || !servers) return null;
      return {
        email,
        // Unauthenticated answers carry no names from the directory: only what a client must know.
        displayName: email,
        login: where?.login ?? email,
        org,
        orgDisplayName: orgs[org]?.displayName ?? org,
        domain,
        servers,
      };
    },
  };
}
