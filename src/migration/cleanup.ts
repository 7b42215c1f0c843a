// Clean-up: every ACL entry of a legacy identity is removed from the target mailbox (the
// seed's Remove-MailboxPermission / Remove-ADPermission for LEGACYDOMAIN\*). Legacy
// identities are the configured globs, by default anything at the source mail domain.
import { deleteAcl, getAcl } from '../mail/acl.ts';
import { folderStates } from '../mail/copyState.ts';
import { type RawWire, unbindWire } from '../mail/wire.ts';
import { globMatcher } from './addresses.ts';
import { failpoint } from './failpoint.ts';
import { endpoints, type StepContext } from './stepContext.ts';
import type { MailboxRow } from './types.ts';

export function legacyMatcher(ctx: Pick<StepContext, 'setup'>): (id: string) => boolean {
  return globMatcher(ctx.setup.config.legacyAclIdentities ?? [`*@${ctx.setup.source.mailDomain}`]);
}

export interface CleanupResult {
  removed: { folder: string; identifier: string; rights: string }[];
}

/**
 * Legacy entries on the given folders of a target session (read-only). The folders are
 * those the copy wrote (from the copy state) and the server still lists, never other
 * users' shared folders the session can also see.
 */
export async function legacyEntries(
  wire: RawWire,
  folders: readonly string[],
  isLegacy: (id: string) => boolean,
): Promise<CleanupResult['removed']> {
  const out: CleanupResult['removed'] = [];
  for (const f of folders)
    for (const e of await getAcl(wire, f)) if (isLegacy(e.identifier)) out.push({ folder: f, identifier: e.identifier, rights: e.rights });
  return out;
}

export const migratedFolders = async (ctx: Pick<StepContext, 'store'>, m: MailboxRow): Promise<string[]> => [
  ...new Set(['INBOX', ...(await folderStates(ctx.store, m.sourceLogin, m.plan.targetLogin)).map((f) => f.targetFolder)]),
];

export async function cleanup(ctx: StepContext, m: MailboxRow): Promise<CleanupResult> {
  const target = endpoints(ctx, m).target;
  const c = await target.open();
  let exists: Set<string> | undefined;
  try {
    if (c.capabilities.has('ACL'))
      exists = new Set((await c.list()).filter((l) => !l.flags.has('\\Noselect') && !l.flags.has('\\NonExistent')).map((l) => l.path));
  } finally {
    if (!exists) await c.logout().catch(() => c.close());
  }
  if (!exists) return { removed: [] };
  // ACL commands are raw IMAP (acl.ts): the logged-in session is handed over to a wire.
  const wire = unbindWire(c, target.address, target.timeoutMs);
  try {
    const folders = (await migratedFolders(ctx, m)).filter((f) => exists.has(f));
    const removed = await legacyEntries(wire, folders, legacyMatcher(ctx));
    for (const e of removed) await deleteAcl(wire, e.folder, e.identifier);
    failpoint('cleanup:removed');
    return { removed };
  } finally {
    wire.close();
  }
}
