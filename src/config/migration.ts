// The `migration` section of the project file: migration batches (issue 5) in the seed's
// Move-Mailbox terms (target database, retry interval, bad/large item limits, merge),
// plus what the pre- and post-scripts needed (accounts that may write users, where the
// target users go, how legacy identities are recognised).
import { z } from 'zod';
import { noticesSchema } from './notices.ts';
import { secretRef } from './secret.ts';

const orgId = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'an organization id such as a, b');

/** An account allowed to modify users (the GAL-sync account writes only its contacts container). */
export const directoryAccountSchema = z.strictObject({
  bindDn: z.string().min(3),
  password: secretRef,
});

const attributeName = z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,62}$/, 'an LDAP attribute name such as msExchHomeServerName');

/** A mail store of the target organization that batches move mailboxes to (`--target-store <name>`). */
export const targetStoreSchema = z.strictObject({
  /** The organization whose mail store serves it. */
  organization: orgId,
  /** The homeMDB value that mailbox-enables a user on this store (the Exchange database DN). */
  homeMDB: z.string().min(3),
  /**
   * What makes the store serve a user, written at pre-stage (Enable-Mailbox): attribute →
   * value(s), e.g. msExchHomeServerName, or the attributes a non-Exchange store reads. homeMDB
   * is always one of them (the value above unless given here). `{guid}` in a value becomes a
   * new GUID per user (msExchMailboxGuid-like identifiers). Cleared again by a rollback.
   */
  mailboxAttributes: z.record(attributeName, z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])).optional(),
  /**
   * The target organization's mail server that serves this homeMDB (its mailStores[].name).
   * Default: the server whose homeMDB is this one, or the only server.
   */
  server: z.string().min(1).optional(),
  /** Mailboxes copied into this store at once, over every batch. Default 4. */
  maxConcurrentMailboxes: z.number().int().min(1).max(256).default(4),
});

/**
 * Seconds between the cutover's routing switch and its final delta. Mail the transport
 * resolved to the source mailbox just before the switch is still being handed over; the
 * lab's Postfix passes its active queue to LMTP within about a second (queue_run_delay
 * 1 s), so 5 s covers it a few times over while costing little per mailbox. Where the
 * transport reads directory replicas (Active Directory across domain controllers), set
 * it to the replication delay.
 */
export const DEFAULT_CUTOVER_SETTLE_SECONDS = 5;
/** A settle longer than this holds the mailbox's store slots for nothing: mail still in flight then is a transport problem. */
export const MAX_CUTOVER_SETTLE_SECONDS = 600;

export const batchDefaultsSchema = z.strictObject({
  /** Wait between polls while the target store does not yet serve a new mailbox, and between retries. Seconds; default 60 (the seed's "will retry in 60 seconds"). */
  retryIntervalSeconds: z.number().min(0.1).max(3600).default(60),
  /** How long pre-stage waits for the target store before the mailbox fails. Seconds; default 1,800. */
  mailboxReadyTimeoutSeconds: z.number().min(1).default(1800),
  badItemLimit: z.number().int().min(0).default(0),
  largeItemLimit: z.number().int().min(0).default(0),
  /** Copy into a target mailbox that already holds mail (Move-Mailbox -AllowMerge). Default true. */
  allowMerge: z.boolean().default(true),
  /** Mailboxes of one batch in flight at once. Default 4. */
  concurrency: z.number().int().min(1).max(256).default(4),
  /** immediate: cutover right after the copy; complete-after: at a time; manual: `batch complete`. */
  cutover: z.enum(['immediate', 'complete-after', 'manual']).default('immediate'),
  /**
   * At cutover, the wait between routing new mail to the target and the final delta, so
   * mail the MTAs already hold for the source is delivered there and carried over. Seconds,
   * 0–600; default 5 (DEFAULT_CUTOVER_SETTLE_SECONDS says why).
   */
  cutoverSettleSeconds: z.number().min(0).max(MAX_CUTOVER_SETTLE_SECONDS).default(DEFAULT_CUTOVER_SETTLE_SECONDS),
});

/**
 * The users pre-stage creates in the target directory (Prepare-MoveRequest). Active Directory
 * never hands out a password, so an AD user gets a generated initial password: it is kept
 * only in the state store, sealed (AES-256-GCM) with the key in passwordKeyFile, and shown
 * to an operator by `crossforest batch password <user>`; it never reaches a log, a report or
 * a notice (the notice goes to the new mailbox, which needs that very password to be read).
 */
export const targetUsersSchema = z.strictObject({
  /** Object classes of a new user. Default: AD's user (activedirectory), the lab schema's mail recipient (openldap). */
  objectClasses: z.array(z.string().min(1)).min(1).optional(),
  /** Create the AD account enabled (with the generated password) or disabled (no password; enable it yourself). Default true. */
  enabled: z.boolean().default(true),
  /**
   * File with the key that seals initial passwords in the state store, relative to the project
   * file. Created (32 random bytes, mode 0600) at the first pre-stage when missing; every worker
   * host needs the same file. Required for enabled users in Active Directory.
   */
  passwordKeyFile: z.string().min(1).optional(),
  /** Length of a generated initial password (upper, lower, digit and symbol always in it). Default 20. */
  passwordLength: z.number().int().min(12).max(128).default(20),
});

export const migrationSchema = z.strictObject({
  /** Organization whose mailboxes move (default: the one with role source). */
  source: orgId.optional(),
  /** Organization they move to (default: the one with role target). */
  target: orgId.optional(),
  /** Per organization id: the account the migration writes users with (pre-stage, cutover, rollback). */
  directoryAccounts: z.record(orgId, directoryAccountSchema),
  /** Container of the target organization where pre-staged users are created. */
  targetContainer: z.string().min(3).regex(/=/, 'a DN such as ou=Migrated,dc=example,dc=com'),
  /** The target's legacyExchangeDN for a new user is this prefix + the user's alias. */
  targetLegacyExchangeDnPrefix: z.string().min(1),
  /** The users pre-stage creates (classes, enabled, initial password). */
  targetUsers: targetUsersSchema.default(targetUsersSchema.parse({})),
  /**
   * What cutover takes off the source user besides routing (Exchange: the mailbox is
   * disconnected, the user becomes mail-enabled): each attribute present is saved, then
   * cleared; rollback puts the saved values back. Default homeMDB and msExchHomeServerName.
   */
  sourceMailboxAttributes: z.array(attributeName).min(1).default(['homeMDB', 'msExchHomeServerName']),
  /**
   * A target account name (sAMAccountName / UPN) already taken by another object: refuse the
   * user at batch create (ADMT's default, "do not migrate source object if a conflict is
   * detected"), or try the name with `-<source org>` appended. Default refuse.
   */
  nameConflicts: z.enum(['refuse', 'suffix']).default('refuse'),
  /** Target stores by name. */
  targetStores: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a short store name such as store-b'), targetStoreSchema),
  /** Mailboxes read from one source store at once, over every batch. Default 8. */
  maxConcurrentPerSourceStore: z.number().int().min(1).max(256).default(8),
  /**
   * ACL identifiers removed from target mailboxes at clean-up (the seed's LEGACYDOMAIN\*):
   * globs, `*` any text. Default: anything `@` the source mail domain.
   */
  legacyAclIdentities: z.array(z.string().min(1)).optional(),
  /**
   * Copy the password hash (userPassword) to the target user at pre-stage, so people log
   * in to the new mailbox with the password they know (what ADMT's password migration
   * does). Only for directories that expose it (OpenLDAP); Active Directory never does.
   */
  copyPasswordHash: z.boolean().default(false),
  /** Folder for batch reports, relative to the project file. Default `reports`. */
  reportsDir: z.string().min(1).default('reports'),
  defaults: batchDefaultsSchema.default(batchDefaultsSchema.parse({})),
  /** User notices before and after the move (src/config/notices.ts). */
  notices: noticesSchema.optional(),
});

export type MigrationConfig = z.infer<typeof migrationSchema>;
export type BatchDefaults = z.infer<typeof batchDefaultsSchema>;
export type TargetStoreConfig = z.infer<typeof targetStoreSchema>;
export type TargetUsersConfig = z.infer<typeof targetUsersSchema>;
