// What makes a mail server serve a user, as the project file says it (Enable-Mailbox and
// its reverse), and what a new target user looks like in each kind of directory. The
// lab's OpenLDAP forests and Active Directory use the same mechanism: configured
// attributes, never a hard-coded class or a hard-coded homeMDB.
import { randomUUID } from 'node:crypto';
import type { TargetStoreConfig } from '../config/migration.ts';
import type { DirectoryEntry } from '../directory/entry.ts';
import { lower } from './addresses.ts';
import { all } from './resolve.ts';
import type { MigrationSetup } from './setup.ts';

/** The lab schema's user: AD's classes plus its own auxiliary class for the Exchange attributes. */
const OPENLDAP_USER_CLASSES = ['top', 'person', 'organizationalPerson', 'user', 'securityPrincipal', 'crossforestMailRecipient'];
/** AD's user: the Exchange attributes come with mailRecipient, an auxiliary class of user. */
const AD_USER_CLASSES = ['top', 'person', 'organizationalPerson', 'user'];

export const targetIsAd = (setup: Pick<MigrationSetup, 'target'>): boolean => setup.target.directory.kind === 'activedirectory';

export function userClasses(setup: MigrationSetup): string[] {
  return setup.config.targetUsers.objectClasses ?? (targetIsAd(setup) ? AD_USER_CLASSES : OPENLDAP_USER_CLASSES);
}

/** The store's mailbox attributes as configured, homeMDB always among them. `{guid}` is left for perUser. */
export function storeMailboxAttributes(ts: TargetStoreConfig): Record<string, string[]> {
  const out: Record<string, string[]> = { homeMDB: [ts.homeMDB] };
  for (const [k, v] of Object.entries(ts.mailboxAttributes ?? {})) {
    const key = Object.keys(out).find((x) => lower(x) === lower(k)) ?? k;
    out[key] = Array.isArray(v) ? v : [v];
  }
  return out;
}

export const mailboxAttributeNames = (ts: TargetStoreConfig): string[] => Object.keys(storeMailboxAttributes(ts));

const hasGuid = (values: readonly string[]): boolean => values.some((v) => v.includes('{guid}'));

/**
 * The writes that mailbox-enable `user` on the store: an attribute is written when it does
 * not hold the configured value. A `{guid}` attribute is written once (when absent): a re-run
 * must not give the mailbox another identity.
 */
export function mailboxEnableChanges(ts: TargetStoreConfig, user: DirectoryEntry | undefined): { attribute: string; values: string[] }[] {
  const changes: { attribute: string; values: string[] }[] = [];
  for (const [attribute, values] of Object.entries(storeMailboxAttributes(ts))) {
    const now = all(user, attribute);
    if (hasGuid(values)) {
      if (now.length === 0) {
        const guid = randomUUID();
        changes.push({ attribute, values: values.map((v) => v.replaceAll('{guid}', guid)) });
      }
      continue;
    }
    const same = now.length === values.length && values.every((v) => now.some((n) => lower(n) === lower(v)));
    if (!same) changes.push({ attribute, values });
  }
  return changes;
}

/** The source attributes cutover saves and clears (those present), from the configured names. */
export function sourceMailboxState(setup: MigrationSetup, source: DirectoryEntry | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of setup.config.sourceMailboxAttributes) {
    const v = all(source, name);
    if (v.length) out[name] = v;
  }
  return out;
}
