// Folder ACLs (RFC 4314) copied through the caller's identity map. imapflow 2.10 has no
// GETACL/SETACL, so they go through its internal `exec(command, attributes, {untagged})`
// (the same path its own commands use; typed here because it is not in the .d.ts).
// The owner's own entry is never written (the target owner keeps full rights, unlike
// imapsync --syncacls which copies the source owner's entry and can empty them);
// identifiers without a mapping are reported and skipped.
import type { ImapFlow } from 'imapflow';
import { encodePath } from 'imapflow/lib/tools.js';
import { toMailStoreError } from './errors.ts';
import type { AclReport, IdentityMap } from './types.ts';

interface Attr {
  type: string;
  value: unknown;
}
type Exec = (
  command: string,
  attributes: Attr[],
  options?: { untagged?: Record<string, (u: { attributes?: Attr[] }) => Promise<void> | void> },
) => Promise<{ next: () => void }>;

/** Identifiers every RFC 4314 server knows; they pass unmapped. */
const SPECIAL_IDS = new Set(['anyone', 'authenticated', 'anonymous']);

export async function getAcl(client: ImapFlow, path: string): Promise<{ identifier: string; rights: string }[]> {
  const exec = (client as unknown as { exec: Exec }).exec.bind(client);
  const entries: { identifier: string; rights: string }[] = [];
  try {
    const res = await exec('GETACL', [{ type: 'STRING', value: encodePath(client as never, path) }], {
      untagged: {
        ACL: (u) => {
          const a = (u.attributes ?? []).map((x) => String(x?.value ?? ''));
          for (let i = 1; i + 1 < a.length; i += 2) entries.push({ identifier: a[i] as string, rights: a[i + 1] as string });
        },
      },
    });
    res.next();
  } catch (err) {
    throw toMailStoreError(err, `read the ACL of ${path}`, path);
  }
  return entries;
}

export async function setAcl(client: ImapFlow, path: string, identifier: string, rights: string): Promise<void> {
  const exec = (client as unknown as { exec: Exec }).exec.bind(client);
  try {
    const res = await exec('SETACL', [
      { type: 'STRING', value: encodePath(client as never, path) },
      { type: 'STRING', value: identifier },
      { type: 'STRING', value: rights },
    ]);
    res.next();
  } catch (err) {
    throw toMailStoreError(err, `set the ACL of ${path} for ${identifier}`, path);
  }
}

/**
 * DELETEACL (RFC 4314 §3.2): removes an entry. Clean-up needs it: Dovecot keeps
 * `SETACL id ""` as an entry without rights instead of removing it.
 */
export async function deleteAcl(client: ImapFlow, path: string, identifier: string): Promise<void> {
  const exec = (client as unknown as { exec: Exec }).exec.bind(client);
  try {
    const res = await exec('DELETEACL', [
      { type: 'STRING', value: encodePath(client as never, path) },
      { type: 'STRING', value: identifier },
    ]);
    res.next();
  } catch (err) {
    throw toMailStoreError(err, `delete the ACL entry of ${identifier} on ${path}`, path);
  }
}

/** Plans the target entries for one folder (pure). */
export function translateAcl(
  entries: readonly { identifier: string; rights: string }[],
  sourceOwner: string,
  targetOwner: string,
  identityMap: IdentityMap,
): { apply: { identifier: string; rights: string }[]; unmapped: string[] } {
  const apply: { identifier: string; rights: string }[] = [];
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
  source: ImapFlow,
  target: ImapFlow,
  sourcePath: string,
  targetPath: string,
  owners: { source: string; target: string },
  identityMap: IdentityMap,
): Promise<AclReport> {
  const entries = await getAcl(source, sourcePath);
  const plan = translateAcl(entries, owners.source, owners.target, identityMap);
  const existing = new Map((await getAcl(target, targetPath)).map((e) => [e.identifier.toLowerCase(), e.rights]));
  const applied: { identifier: string; rights: string }[] = [];
  for (const e of plan.apply) {
    if (existing.get(e.identifier.toLowerCase()) === e.rights) continue;
    await setAcl(target, targetPath, e.identifier, e.rights);
    applied.push(e);
  }
  return { folder: targetPath, applied, unmapped: plan.unmapped, ownerRightsKept: true };
}
