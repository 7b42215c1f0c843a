// What the operator dashboard shows, as the JSON API returns it (the page renders the same).
//
// Glossary, in the seed's words:
// - operator: one of the people running the migration ("the migration team"); logs in with
//   a dashboard account of its own, never a GAL user's directory login.
// - batch: a group of mailboxes moved together (the seed's "Group1.txt", 600 mailboxes in a
//   six-hour window); per mailbox a pipeline state (queued … done, failed, suspended).
// - window: the hours a batch may work in; the ETA is judged against its end ("will the
//   batch finish before the window closes?").
// - throughput: messages and bytes copied per second, sampled by the batch runner once a
//   second (migration_sample), drawn over time.
// - sync run: one GAL synchronization run (import, sync, export) with its counts and the
//   per-object errors (the DN and the reason).
// - pending-export preview: what the next export would add, modify, rename and delete.

export interface WindowView {
  start: string | null;
  stop: string | null;
  /** before | open | after: before it opens nothing starts; after it closes nothing new starts. */
  state: 'before' | 'open' | 'after';
}

export interface EtaView {
  /** Messages per second over the recent samples (0 when nothing was copied lately). */
  messagesPerSecond: number;
  bytesPerSecond: number;
  remainingMessages: number;
  /** Seconds until the copy is done at the recent rate; null when the rate is 0 or nothing is left. */
  seconds: number | null;
  finishesAt: string | null;
  /** Whether the copy finishes before the window closes; null without a window stop or a rate. */
  fitsWindow: boolean | null;
}

export interface BatchSummary {
  name: string;
  status: string;
  sourceOrg: string;
  targetOrg: string;
  targetStore: string;
  workgroup: string | null;
  cutover: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  window: WindowView;
  mailboxes: number;
  byState: Record<string, number>;
  messages: number;
  bytes: number;
  /** Messages copied, each mailbox counted up to its size (deltas re-copy). */
  copiedMessages: number;
  copiedBytes: number;
  /** 0..1: copied messages of all messages. */
  copyProgress: number;
  /** 0..1: how far the mailboxes are along the pipeline (done = 1). */
  pipelineProgress: number;
  errors: number;
  eta: EtaView;
  /** URL of the batch's HTML report on this service, when one was written. */
  reportUrl: string | null;
}

export interface MailboxView {
  name: string;
  source: string;
  target: string;
  state: string;
  resumeState: string | null;
  messages: number;
  copied: number;
  bytes: number;
  copiedBytes: number;
  deltas: number;
  skipped: number;
  fidelity: number | null;
  error: string | null;
  updatedAt: string;
}

export interface ErrorView {
  mailbox: string;
  /** failed: the pipeline stopped; skipped: an item not copied; verify: a check found a problem. */
  kind: 'failed' | 'skipped' | 'verify';
  reason: string;
}

export interface ReportLink {
  name: string;
  url: string;
}

export interface BatchDetail extends BatchSummary {
  mailboxList: MailboxView[];
  errorList: ErrorView[];
  /** One sample a second while copying: messages and bytes copied in that second. */
  throughput: { at: string; messages: number; bytes: number }[];
  reports: ReportLink[];
}

export interface SyncRunView {
  id: number;
  profile: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
  seconds: number | null;
  counts: Record<string, number>;
  message: string | null;
  errors: { agent: string; dn: string; code: string; reason: string }[];
  /** More errors exist than listed (see `crossforest sync errors <id>`). */
  moreErrors: number;
}

/** A queue worker alive now (PostgreSQL state): what it holds and what it moved lately. */
export interface WorkerView {
  /** host:pid */
  worker: string;
  aliveUntil: string;
  /** Source logins of the mailboxes it holds now. */
  mailboxes: string[];
  /** Copy passes it finished in the last WORKER_WINDOW_MINUTES. */
  recentMessages: number;
  recentBytes: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
}

export interface Overview {
  generatedAt: string;
  batches: BatchSummary[];
  syncRuns: SyncRunView[];
  workers: WorkerView[];
}
