// What `batch create` checks in the target directory before it plans anyone, so a batch
// that could not pre-stage a single user is refused at once, naming the container and the
// account, and never half-written at night: the container exists, and (in Active
// Directory, which says so itself in allowedChildClassesEffective) the migration account
// may create users there. OpenLDAP has no such attribute: its refusal comes at pre-stage.
import type { Client } from 'ldapts';
import { readEntry } from '../directory/import.ts';
import { lower } from './addresses.ts';
import { targetIsAd } from './mailboxAttributes.ts';
import { all } from './resolve.ts';
import type { MigrationSetup } from './setup.ts';

export async function targetContainerProblems(setup: MigrationSetup, tgt: Client): Promise<string[]> {
  const container = setup.config.targetContainer;
  const account = setup.config.directoryAccounts[setup.targetId]?.bindDn ?? '?';
  const ad = targetIsAd(setup);
  const entry = await readEntry(tgt, container, ad ? ['objectClass', 'allowedChildClassesEffective'] : ['objectClass']);
  if (!entry)
    return [
      `target container ${container} does not exist in ${setup.targetId} (or ${account} cannot see it): create it, or fix migration.targetContainer`,
    ];
  if (ad) {
    const userClass = lower(setup.config.targetUsers.objectClasses?.at(-1) ?? 'user');
    if (!all(entry, 'allowedChildClassesEffective').some((c) => lower(c) === userClass))
      return [
        `${account} may not create ${userClass} objects in ${container} (${setup.targetId}): grant it "Create User objects" there, or give migration.directoryAccounts.${setup.targetId} an account that may`,
      ];
  }
  return [];
}
