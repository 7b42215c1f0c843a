// Folder ACLs (RFC 4314) copied through the caller's identity map. imapflow has no public
// ACL command (2.10: no GETACL/SETACL/DELETEACL method), so these are raw IMAP on a wire of
// our own (wire.ts, a logged-in imapflow session handed over with its public `unbind()`)
// rather than through imapflow's private `exec()` and `imapflow/lib/tools.js`, which a minor
// imapflow release may change. The caller opens that wire only when ACLs are needed.
// The owner's own entry is never written (the target owner keeps full rights, unlike
// imapsync --syncacls which copies the source owner's entry and can empty them);
// identifiers without a mapping are reported and skipped.
import { MailStoreError } from './errors.ts';
import type { Token } from './imapTokens.ts';
import { decodeMailboxName } from './mailboxName.ts';
import { runCommand } from './rawCommand.ts';
import type { AclReport, IdentityMap } from './types.ts';
import { quoteMailbox, quoteString, type RawWire } from './wire.ts';

export interface AclEntry {
  identifier: string;
  rights: string;
}

/** Identifiers every RFC 4314 server knows; they pass unmapped. */
const SPECIAL_IDS = new Set(['anyone', 'authenticated', 'anonymous']);

/**
 * The tokens of one `* ACL mailbox identifier rights …` after `ACL` (pure): the mailbox
 * (back to Unicode) and its entries. A list where a string belongs, or an identifier
 * without rights, is a protocol error.
 */
export function parseAclResponse(tokens: readonly Token[], utf8: boolean, from = 'the server'): { mailbox: string; entries: AclEntry[] } {
  const [mailbox, ...pairs] = tokens;
  if (typeof mailbox !== 'string' || pairs.length % 2 !== 0 || pairs.some((t) => typeof t !== 'string'))
    throw new MailStoreError('CF_ERR_IMAP_PROTOCOL', `${from} sent a malformed ACL response: ${JSON.stringify(tokens).slice(0, 200)}`, {
      object: from,
    });
  const entries: AclEntry[] = [];
  for (let i = 0; i < pairs.length; i += 2) entries.push({ identifier: pairs[i] as string, rights: pairs[i + 1] as string });
  return { mailbox: decodeMailboxName(mailbox, utf8), entries };
}

/** GETACL (RFC 4314 §3.3): every entry of a folder. */
export async function getAcl(wire: RawWire, path: string): Promise<AclEntry[]> {
  const responses = await runCommand(wire, `GETACL ${quoteMailbox(wire, path)}`, {
    untagged: 'ACL',
    action: `read the ACL of ${path}`,
    object: path,
  });
  return responses.flatMap((r) => parseAclResponse(r, wire.utf8, wire.address).entries);
}

/** SETACL (RFC 4314 §3.1): replaces one identifier's rights. */
export async function setAcl(wire: RawWire, path: string, identifier: string, rights: string): Promise<void> {
  await runCommand(wire, `SETACL ${quoteMailbox(wire, path)} ${quoteString(identifier)} ${quoteString(rights)}`, {
    action: `set the ACL of ${path} for ${identifier}`,
    object: path,
  });
}

/**
 * DELETEACL (RFC 4314 §3.2): removes an entry. Clean-up needs it: Dovecot keeps
 * `SETACL id ""` as an entry without rights instead of removing it.
 */
export async function deleteAcl(wire: RawWire, path: string, identifier: string): Promise<void> {
  await runCommand(wire, `DELETEACL ${quoteMailbox(wire, path)} ${quoteString(identifier)}`, {
    action: `delete the ACL entry of ${identifier} on ${path}`,
    object: path,
  });
}

/** Plans the target entries for one folder (pure). */
export function translateAcl(
  entries: readonly AclEntry[],
  sourceOwner: string,
  targetOwner: string,
  identityMap: IdentityMap,
): { apply: AclEntry[]; unmapped: string[] } {
  const apply: AclEntry[] = [];
  const unmapped: string[] = [];
  for (const e of entries) {
    const negative = e.identifier.startsWith('-');
    const id = negative ? e.identifier.slice(1) : e.identifier;
    if (id.toLowerCase() === sourceOwner.toLowerCase()) continue; // the owner's rights are the target's own
    const mapped = SPECIAL_IDS.has(id.toLowerCase()) ? id : identityMap(id);
    if (!mapped) {
      unmapped.push(e.identifier);
      continue;
    }
    if (mapped.toLowerCase() === targetOwner.toLowerCase()) continue; // never touch the owner's entry
    apply.push({ identifier: negative ? `-${mapped}` : mapped, rights: e.rights });
  }
  return { apply, unmapped };
}

/** Copies one folder's ACL; returns what was applied and what could not be mapped. */
export async function copyFolderAcl(
  source: RawWire,
  target: RawWire,
  sourcePath: string,
  targetPath: string,
  owners: { source: string; target: string },
  identityMap: IdentityMap,
): Promise<AclReport> {
  // Both sides at once (two wires): a folder's ACLs cost one round trip, not two.
  const [entries, current] = await Promise.all([getAcl(source, sourcePath), getAcl(target, targetPath)]);
  const plan = translateAcl(entries, owners.source, owners.target, identityMap);
  const existing = new Map(current.map((e) => [e.identifier.toLowerCase(), e.rights]));
  const applied: AclEntry[] = [];
  for (const e of plan.apply) {
    if (existing.get(e.identifier.toLowerCase()) === e.rights) continue;
    await setAcl(target, targetPath, e.identifier, e.rights);
    applied.push(e);
  }
  return { folder: targetPath, applied, unmapped: plan.unmapped, ownerRightsKept: true };
}
