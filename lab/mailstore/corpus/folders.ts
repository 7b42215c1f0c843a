// Which folders a forest-A user has, as paths of name segments below the personal
// namespace prefix, and where Maildir++ keeps each of them on disk. Pure and
// deterministic: the same (user, roles, PRNG) gives the same plan.
import type { Prng } from '../../org/prng.ts';
import type { SpecialUse, StoreDef } from '../stores.ts';
import { encodeMutf7 } from './mutf7.ts';

export type FolderKind = 'inbox' | 'special' | 'extra' | 'custom';

export interface FolderPlan {
  /** Name segments below the prefix; [] is INBOX. */
  path: string[];
  kind: FolderKind;
  specialUse?: SpecialUse;
  /** Weight of this folder in the user's message distribution. */
  weight: number;
  subscribed: boolean;
}

// Folders as people really name them: non-ASCII, `&`, spaces, the other server's `/`.
const NON_ASCII = [['Entwürfe alt'], ['Überweisungen', 'Rechnungen 2019'], ['Проекты'], ['日本語', '取引先'], ['Ação & Co'], ['Zürich ☕']];
const WITH_SLASH = [['Q1/Q2 Reports'], ['Partners', 'Vendors/Suppliers'], ['HR/Payroll']];
const PLAIN = [
  ['Projects', 'Phoenix'],
  ['Projects', 'Atlas', 'Design'],
  ['Receipts'],
  ['Newsletters'],
  ['Travel'],
  ['Old Mail', '2017'],
  ['Old Mail', '2018'],
  ['Team'],
  ['R&D'],
];

export interface FolderRoles {
  /** Gets every special folder name (non-ASCII, `/`) so a tiny lab still has them. */
  showcase: boolean;
  /** 100+ folders (customers by letter). */
  hoarder: boolean;
}

export function planFolders(store: StoreDef, rnd: Prng, roles: FolderRoles): FolderPlan[] {
  const plan: FolderPlan[] = [{ path: [], kind: 'inbox', weight: 50, subscribed: true }];
  const weights: Record<SpecialUse, number> = { '\\Sent': 18, '\\Drafts': 1, '\\Trash': 5, '\\Junk': 2, '\\Archive': 10 };
  for (const [use, name] of Object.entries(store.specialUse) as [SpecialUse, string][]) {
    plan.push({ path: [name], kind: 'special', specialUse: use, weight: weights[use], subscribed: true });
  }
  for (const name of store.extraFolders) {
    // Exchange shows Calendar/Contacts/Tasks over IMAP, nearly empty.
    plan.push({ path: [name], kind: 'extra', weight: name === 'Calendar' ? 1 : 0.3, subscribed: true });
  }
  const custom: string[][] = [];
  if (roles.showcase) custom.push(...NON_ASCII, ...WITH_SLASH, ...PLAIN);
  else {
    const n = rnd.int(7);
    for (let i = 0; i < n; i++) custom.push(rnd.pick(PLAIN));
    if (rnd.chance(0.25)) custom.push(rnd.pick(NON_ASCII));
    if (rnd.chance(0.1)) custom.push(rnd.pick(WITH_SLASH));
  }
  if (roles.hoarder) {
    // 26 letters × 4 customers + parents: a realistic 100+ folder tree.
    for (let l = 0; l < 26; l++) {
      const letter = String.fromCharCode(65 + l);
      for (const [k, kind] of ['Holdings', 'GmbH', 'Ltd', 'Partners'].entries())
        custom.push(['Customers', letter, `${letter}${'rvexo'.slice(0, k + 2)} ${kind}`]);
    }
  }
  const seen = new Set<string>(plan.map((p) => p.path.join('\u0000')));
  for (const path of custom) {
    // Parents exist as folders of their own (Maildir++ needs no dir for them, IMAP does).
    for (let depth = 1; depth <= path.length; depth++) {
      const p = path.slice(0, depth);
      const key = p.join('\u0000');
      if (seen.has(key)) continue;
      seen.add(key);
      plan.push({ path: p, kind: 'custom', weight: depth === path.length ? 3 : 0.5, subscribed: rnd.chance(0.9) });
    }
  }
  return plan;
}

/** The IMAP name of a folder as clients of this store see it (prefix + separator). */
export function imapName(store: StoreDef, path: readonly string[]): string {
  return path.length === 0 ? 'INBOX' : `${store.prefix}${path.join(store.separator)}`;
}

/** One segment as Maildir++ stores it: listescape's `\xx` for `/` and `\`, then mUTF-7. */
function storageSegment(segment: string): string {
  return encodeMutf7(segment.replace(/[\\/]/g, (c) => `\\${c.charCodeAt(0).toString(16)}`));
}

/** Folder directory name below ~/Maildir (`''` for INBOX), e.g. `.Customers.A.Acme`. */
export function maildirFolderDir(path: readonly string[]): string {
  return path.length === 0 ? '' : `.${path.map(storageSegment).join('.')}`;
}

/** Name in the Maildir++ `subscriptions` file (v2: segments joined by TAB). */
export function subscriptionName(path: readonly string[]): string {
  return path.length === 0 ? 'INBOX' : path.map(storageSegment).join('\t');
}
