// Active Directory specifics of the LDAP connector.
//
// Glossary (in the seed's words, as AD administrators say them):
// - anchor: what identifies an object for life. In AD the objectGUID (16 bytes, shown
//   as a GUID string); a DN changes with every rename or move, the objectGUID never.
// - DirSync: AD's change-tracking search control (1.2.840.113556.1.4.841). The first
//   search returns everything and a cookie; the next search with that cookie returns
//   only objects changed since, with only the changed attributes. The cookie belongs
//   to one DC and is kept in the state store between runs.
// - tombstone: what a delete leaves behind: the object with isDeleted=TRUE, moved to
//   CN=Deleted Objects with a mangled RDN (`CN=name\0ADEL:<guid>`), most attributes
//   stripped, objectGUID kept. Seen only with the Show Deleted control (or DirSync).
// - uSNChanged: a per-DC change counter on every object; polling `uSNChanged >= N`
//   is the fallback when DirSync is not permitted (it needs "Replicating Directory
//   Changes"), and, like DirSync, sees deletes only as tombstones.
// - range retrieval: AD hands out at most 1,500 values of one attribute per read
//   (`member;range=0-1499`); the rest is asked for slice by slice.
// - continuation reference: a subtree search from the domain root also returns a
//   referral to CN=Configuration (and DNS partitions); a connector must not chase it.
// - userAccountControl: bit flags on users (disabled, normal account, password never
//   expires …). A disabled account is still a GAL entry when it has mail.

/** One object as a DirSync or uSNChanged delta reports it. */
export interface AdChange {
  /** objectGUID as a GUID string: the anchor. */
  guid: string;
  /** Current DN (for a tombstone, its DN below CN=Deleted Objects). */
  dn: string;
  /** True for a tombstone: the object was deleted. */
  deleted: boolean;
  /** Changed (DirSync) or all requested (uSNChanged) attributes, as text; binary ones as base64. */
  attributes: Record<string, string[]>;
  /**
   * Requested attributes the server listed with no values. In a DirSync answer that
   * means "cleared" on Windows but also "unchanged" on Samba; dirSync() resolves it by
   * re-reading the object, so callers only see it on raw entries.
   */
  emptied?: string[];
}

/** The watermark a delta run stores and hands back next time. */
export type AdWatermark = { kind: 'dirsync'; cookie: string /* base64 */ } | { kind: 'usn'; highestUsn: string; invocationId: string };
