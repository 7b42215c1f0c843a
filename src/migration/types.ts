// Core types of migration batches (issue 5): the seed's Move-Mailbox run plus its pre-
// and post-scripts, made into one pipeline per mailbox.
//
// Glossary, in the seed's words:
// - batch: a group of mailboxes moved together ("Group1.txt", 600 mailboxes in a six-hour
//   window), with its options: target store (-TargetDatabase), retry interval, bad item
//   limit, large item limit, merge allowed (-AllowMerge), concurrency, window, cutover mode.
// - pre-stage: "perform your AD work ahead of schedule": the target object becomes a
//   mail-enabled user carrying every source address, `X500:` + the source
//   legacyExchangeDN, and the target's legacyExchangeDN goes back to the source as X500
//   (cross-pollination); then it is mailbox-enabled on the target store and we WAIT until
//   the store serves it ("Failed to set basic mailbox information, will retry in 60 seconds").
// - copy / delta: the data move (src/mail/copyMailbox); a delta pass copies what changed.
// - cutover: mail is routed to the target first, then a final delta while the source
//   still serves it, then the source user becomes mail-enabled only (targetAddress = the
//   target mailbox), its mailbox disconnected from login, never deleted ("do not delete
//   in case you need to reconnect later").
// - rollback: a cutover reversed, from any state after it (rollback.ts): the source serves
//   the mailbox again with what reached the target since copied back, mail routes back to
//   it, the target user loses its mailbox, and the mailbox is queued for a later move.
// - clean-up: the target mailbox loses the ACL entries of legacy identities (the seed's
//   Remove-MailboxPermission for LEGACYDOMAIN\*).
// - verify: "another script to compare the object to make sure it is correct": the
//   directory objects on both sides, the mailbox contents, and split-mailbox detection
//   (the seed's 5 %: "a disconnected mailbox in one store and an empty one in another").
// - window: the hours a batch may start work in; when it closes nothing new starts and
//   the mailboxes in flight suspend after their current step.
// - workgroup: a free label that groups batches (the seed's per-department planning).

/** The pipeline states, in order; `failed` and `suspended` keep the last completed state in resumeState. */
export const PIPELINE = ['queued', 'prestaged', 'copied', 'cutover', 'cleaned', 'verified', 'done'] as const;
export type PipelineState = (typeof PIPELINE)[number];
export type MailboxState = PipelineState | 'failed' | 'suspended';

/** The step that takes a mailbox out of a state. */
export const STEP_AFTER: Record<Exclude<PipelineState, 'done'>, StepName> = {
  queued: 'prestage',
  prestaged: 'copy',
  copied: 'cutover',
  cutover: 'cleanup',
  cleaned: 'verify',
  verified: 'report',
};
/**
 * `calendars` follows `copy` and each `delta` when both organizations have a calendar server (calendarStep.ts).
 * `rollback` is no step of the pipeline: `batch rollback` records it (batchOps.ts), with the messages copied back.
 */
export type StepName = 'prestage' | 'copy' | 'calendars' | 'delta' | 'cutover' | 'cleanup' | 'verify' | 'report' | 'rollback';

export type CutoverMode = 'immediate' | 'complete-after' | 'manual';

export interface BatchOptions {
  retryIntervalSeconds: number;
  mailboxReadyTimeoutSeconds: number;
  badItemLimit: number;
  largeItemLimit: number;
  allowMerge: boolean;
  concurrency: number;
  /** ISO instants; a batch without a window may run any time. */
  windowStart?: string | undefined;
  windowStop?: string | undefined;
  cutover: CutoverMode;
  /** For cutover complete-after: the ISO instant after which cutover may run. */
  completeAfter?: string | undefined;
  /** Seconds cutover waits between routing new mail to the target and the final delta (cutover.ts); absent in batches made before it existed: the default. */
  cutoverSettleSeconds?: number | undefined;
  workgroup?: string | undefined;
}

export type BatchStatus = 'created' | 'running' | 'suspended' | 'synced' | 'completed' | 'completed-with-errors';

export interface Batch {
  id: number;
  name: string;
  sourceOrg: string;
  targetOrg: string;
  targetStore: string;
  options: BatchOptions;
  origin: string;
  status: BatchStatus;
  completeRequested: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  reportPath: string | null;
  /** Started with `batch start --detach`: the queue's workers run its mailboxes. */
  detached: boolean;
}

/** What pre-stage will make of the target object, decided (and checked) at batch creation. */
export interface PrestagePlan {
  /** DN of the target user (created, or the existing user adopted). */
  targetDn: string;
  /** The GAL-sync contact converted into the user, if there was one. */
  contactDn: string | null;
  /** The target user existed already as a user (merge into an existing object). */
  existingUser: boolean;
  targetLogin: string;
  targetSam: string;
  /** Primary SMTP address in the target domain (what the source's targetAddress will be). */
  targetPrimary: string;
  targetLegacyExchangeDn: string;
  sourceLegacyExchangeDn: string | null;
  /** Every proxy address of the source user (SMTP:/smtp:/X500:/X400: as written). */
  sourceProxies: string[];
  /** Display attributes copied from the source (cn, sn, givenName, displayName …). */
  display: Record<string, string[]>;
  /** The source mail server that holds the mailbox (mailStores[].name), found from its homeMDB; absent in batches made before. */
  sourceStore?: string;
}

export interface MailboxRow {
  id: number;
  batchId: number;
  name: string;
  sourceDn: string;
  sourceLogin: string;
  sourceMail: string;
  plan: PrestagePlan;
  state: MailboxState;
  resumeState: PipelineState | null;
  deltas: number;
  error: string | null;
  saved: SavedSource | null;
  messages: number;
  bytes: number;
  copied: number;
  copiedBytes: number;
  skipped: SkippedEntry[];
  fidelity: number | null;
  verify: VerifyOutcome | null;
  updatedAt: string;
}

/** Where the pipeline stands: for a parked (failed / suspended) mailbox, the state it resumes from. */
export const pipelineStage = (m: Pick<MailboxRow, 'state' | 'resumeState'>): PipelineState | null =>
  m.state === 'failed' || m.state === 'suspended' ? m.resumeState : m.state;

/** What cutover removed from the source object, so rollback can put it back. */
export interface SavedSource {
  homeMDB: string[];
  targetAddress: string[];
  /** Every mailbox attribute cutover cleared (migration.sourceMailboxAttributes), homeMDB among them; absent in rows saved before. */
  attributes?: Record<string, string[]>;
}

export interface SkippedEntry {
  folder: string;
  uid: number;
  messageId?: string | undefined;
  subject?: string | undefined;
  size: number;
  kind: string;
  reason: string;
}

export interface VerifyOutcome {
  ok: boolean;
  /** One line per problem: directory, mailbox, split. */
  problems: string[];
  fidelity: number;
  sourceMessages: number;
  intact: number;
  targetMessages: number;
  checkedAt: string;
  /** Calendar items (events, tasks) and vCards on the source, and intact on the target (when calendars move too). */
  calendars?: { calendarItems: { source: number; intact: number }; contactItems: { source: number; intact: number }; ok: boolean };
}

export interface StepRecord {
  mailboxId: number;
  step: string;
  startedAt: string;
  finishedAt: string | null;
  status: string;
  messages: number;
  bytes: number;
  detail: unknown;
  /** host:pid of the process that ran it (null: recorded before workers were named). */
  worker: string | null;
}

/** A live event of a batch run (terminal view, --json lines). */
export type RunEvent =
  | { type: 'state'; mailbox: string; state: MailboxState; step?: StepName; error?: string }
  | { type: 'progress'; mailbox: string; copiedMessages: number; copiedBytes: number; totalMessages: number; totalBytes: number }
  | { type: 'wait'; mailbox: string; what: string; nextPollSeconds: number }
  | { type: 'window-closed'; batch: string }
  | { type: 'batch'; batch: string; status: BatchStatus };
