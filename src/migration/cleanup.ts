// Clean-up: every ACL entry of a legacy identity is removed from the target mailbox (the
// seed's Remove-MailboxPermission / Remove-ADPermission for LEGACYDOMAIN\*). Legacy
// identities are the configured globs, by default anything at the source mail domain.
import type { ImapFlow } from 'imapflow';
import { deleteAcl, getAcl } from '../mail/acl.ts';
import { folderStates } from '../mail/copyState.ts';
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
 * Legacy entries on the given folders of an open target session (read-only). The folders
 * are those the copy wrote (from the copy state), never other users' shared folders the
 * session can also see.
 */
export async function legacyEntries(
  c: ImapFlow,
  folders: readonly string[],
  isLegacy: (id: string) => boolean,
): Promise<CleanupResult['removed']> {
  const out: CleanupResult['removed'] = [];
  const exists = new Set((await c.list()).filter((l) => !l.flags.has('\\Noselect') && !l.flags.has('\\NonExistent')).map((l) => l.path));
  for (const f of folders) {
    if (!exists.has(f)) continue;
    for (const e of await getAcl(c, f)) if (isLegacy(e.identifier)) out.push({ folder: f, identifier: e.identifier, rights: e.rights });
  }
  return out;
}

export const migratedFolders = (ctx: Pick<StepContext, 'store'>, m: MailboxRow): string[] => [
  ...new Set(['INBOX', ...folderStates(ctx.store, m.sourceLogin, m.plan.targetLogin).map((f) => f.targetFolder)]),
];

export async function cleanup(ctx: StepContext, m: MailboxRow): Promise<CleanupResult> {
  const c = await endpoints(ctx, m).target.open();
  try {
    if (!c.capabilities.has('ACL')) return { removed: [] };
    const removed = await legacyEntries(c, migratedFolders(ctx, m), legacyMatcher(ctx));
    for (const e of removed) await deleteAcl(c, e.folder, e.identifier);
    failpoint('cleanup:removed');
    return { removed };
  } finally {
    await c.logout().catch(() => c.close());
  }
}
