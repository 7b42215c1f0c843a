// Core types of the mailbox copy engine (issue 4).
//
// Glossary, in the seed's words (Move-Mailbox) and IMAP's:
// - mailbox: one user's whole store (every folder); the unit a migration batch moves.
// - folder: one IMAP mailbox inside it (INBOX, Sent Items, Projects.Phoenix …).
// - source / target: the organization the mailbox leaves / the one it moves to.
// - data move: copying every item of a mailbox, bytes unchanged, flags, keywords,
//   internal dates, subscriptions and folder ACLs ("we have NEVER seen a SINGLE item get dropped").
// - bad item: a message the source cannot deliver or the target refuses; skipped,
//   counted and reported one by one; past `badItemLimit` the move fails (Move-Mailbox -BadItemLimit).
// - large item: a message over `maxMessageBytes`; skipped and counted against `largeItemLimit`.
// - merge: copying into a target that already holds mail (-AllowMerge): nothing twice.
// - fingerprint: what makes two copies of a message "the same" across servers:
//   Message-ID + size + a hash of the header, or a hash of the whole message when there is no Message-ID.
// - UID map: source UID → target UID per folder (from UIDPLUS APPENDUID), what makes a re-run a delta.
// - delta: a re-run that copies only new messages and carries flag changes (CONDSTORE when both servers have it).
// - identity map: source ACL identifier → target identifier, supplied by the caller (the metaverse).
import type { ImapFlow } from 'imapflow';
import type { MailCopyOptions } from '../config/mail.ts';
import type { StateStore } from '../state/store.ts';
import type { Logger } from '../util/logger.ts';
import type { StoreLimits } from './storeThrottle.ts';
import type { Throttle } from './throttle.ts';

/** Where one side of a copy lives: a logged-in session factory for one mailbox. */
export interface MailEndpoint {
  /** Label for reports and messages: `imap://127.0.0.1:1431`. */
  address: string;
  /** Opens a new logged-in session on this mailbox (the caller logs out). */
  open(): Promise<ImapFlow>;
  /** Timeout of one network wait on this store, in ms. */
  timeoutMs: number;
  /**
   * The store's identity and its limit shared by every copy in the process
   * (mailStore.maxMessagesPerSecond / maxBytesPerSecond); copyMailbox takes it from
   * the process-wide registry (storeThrottle.ts). Absent: the store is not throttled.
   */
  storeLimits?: StoreLimits;
}

/** Maps a source ACL identifier (user login or group) to the target's, or undefined if unknown. */
export type IdentityMap = (sourceIdentifier: string) => string | undefined;

export interface CopyProgress {
  folder: string;
  copiedMessages: number;
  copiedBytes: number;
  totalMessages: number;
  totalBytes: number;
}

export interface CopyMailboxInput {
  source: MailEndpoint;
  target: MailEndpoint;
  /** Source mailbox login (for state, leases and reports). */
  sourceMailbox: string;
  targetMailbox: string;
  store: StateStore;
  options: MailCopyOptions;
  identityMap?: IdentityMap;
  logger?: Logger;
  onProgress?: (p: CopyProgress) => void;
  /** More throttles shared with other copies, taken on top of the mailbox's own and the stores' (endpoint.storeLimits). */
  sharedThrottles?: Throttle[];
  /**
   * Wait up to this long for another copy's lease on the target mailbox to end, instead of
   * refusing at once: for callers that already own the mailbox (the migration's mailbox
   * lease), whose previous holder died and whose copy lease has yet to expire.
   */
  waitForLeaseMs?: number;
  /**
   * Source folder → target folder, taken over the computed mapping for the folders named: a
   * copy back (rollback) puts each folder's mail into the folder it came from, whatever the
   * mapping rules would make of its name. Other folders are mapped by the rules.
   */
  pinnedFolders?: ReadonlyMap<string, string>;
  /** Ignore APPENDUID as if the target lacked UIDPLUS: copies are then found by fingerprint (tests, broken servers). */
  ignoreAppendUid?: boolean;
}

/** A limit this copy ran under (only limits that are set are reported). */
export interface ThrottleReport {
  /**
   * `mailbox`: mail.maxMessagesPerSecond / maxBytesPerSecond; `source store` / `target store`:
   * the store's limit shared by every copy in the process; `shared`: a caller's sharedThrottles.
   */
  scope: 'mailbox' | 'source store' | 'target store' | 'shared';
  /** The store's address (store scopes). */
  store?: string;
  /** The effective limit when the copy started; 0 = unlimited. */
  maxMessagesPerSecond: number;
  maxBytesPerSecond: number;
  /** Wall-clock time during which at least one of this copy's messages waited for this limit, ms. */
  waitedMs: number;
}

/** One skipped message, as the report lists it. */
export interface SkippedItem {
  folder: string;
  uid: number;
  messageId: string | undefined;
  subject: string | undefined;
  size: number;
  kind: 'bad' | 'large';
  /** The server's own words (or ours, for a large item). */
  reason: string;
}

export interface FolderReport {
  source: string;
  target: string;
  sourceMessages: number;
  sourceBytes: number;
  targetMessages: number;
  targetBytes: number;
  copied: number;
  copiedBytes: number;
  /** Already on the target by fingerprint (merge / crash recovery): mapped, not copied. */
  matched: number;
  skipped: number;
  flagsUpdated: number;
  /** Source messages gone since the last pass (deleted on the target only if configured). */
  deletedOnSource: number;
  deletedOnTarget: number;
  keywordsRefused: string[];
  durationMs: number;
}

export interface AclReport {
  folder: string;
  applied: { identifier: string; rights: string }[];
  unmapped: string[];
  ownerRightsKept: boolean;
}

export interface CopyReport {
  sourceMailbox: string;
  targetMailbox: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  status: 'completed' | 'failed';
  error?: string;
  folders: FolderReport[];
  skipped: SkippedItem[];
  acls: AclReport[];
  subscriptions: { subscribed: number };
  /** Folder attempts repeated after a dropped connection or a transient answer. */
  retries: number;
  /** The throttles this copy ran under (empty: unlimited). */
  throttles: ThrottleReport[];
  folderMapping: { source: string; target: string; reason: string }[];
  warnings: string[];
  totals: {
    messages: number;
    bytes: number;
    copied: number;
    copiedBytes: number;
    skipped: number;
    flagsUpdated: number;
    messagesPerSecond: number;
    megabytesPerSecond: number;
  };
}
