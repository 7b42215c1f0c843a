// The `mail` section of the project file: how mailboxes are copied (issue 4), in
// Move-Mailbox's terms (BadItemLimit, LargeItemLimit, RetryInterval) plus what IMAP adds.
import { z } from 'zod';

export const folderRenameSchema = z.strictObject({
  /** Source folder as segments joined by `/`, whatever the server's separator ("Old Mail/2017"). */
  from: z.string().min(1),
  /** Target folder, segments joined by `/` ("Archive/2017"). Subfolders follow. */
  to: z.string().min(1),
});

export const mailCopySchema = z.strictObject({
  /** Globs over source folder names (segments joined by `/`; `*` within a segment, `**` across). Default: every folder. */
  include: z.array(z.string().min(1)).default(['**']),
  /** Globs of folders never copied; exclude wins over include. */
  exclude: z.array(z.string().min(1)).default([]),
  renames: z.array(folderRenameSchema).default([]),
  /** Skipped messages allowed before the copy fails (Move-Mailbox -BadItemLimit). Default 0. */
  badItemLimit: z.number().int().min(0).default(0),
  /** Messages over maxMessageBytes allowed to be skipped before the copy fails. Default 0. */
  largeItemLimit: z.number().int().min(0).default(0),
  /** A message larger than this (bytes) is a large item. Default 50 MiB. */
  maxMessageBytes: z
    .number()
    .int()
    .positive()
    .default(50 * 1024 * 1024),
  /** First wait after a dropped connection or a transient NO, in ms; doubles per retry. Default 2,000. */
  retryIntervalMs: z.number().int().min(0).default(2_000),
  /** Retries of one folder before the copy fails. Default 5. */
  retries: z.number().int().min(0).default(5),
  /** Max messages per second per mailbox (0 = unlimited). */
  maxMessagesPerSecond: z.number().min(0).default(0),
  /** Max bytes per second per mailbox (0 = unlimited). */
  maxBytesPerSecond: z.number().min(0).default(0),
  /** Folders copied at once, each on its own pair of connections. Default 4. */
  concurrency: z.number().int().min(1).max(32).default(4),
  /** Data connection pairs for one large folder, copied in UID ranges (400+ new messages per extra pair). Default 2. */
  rangeConnections: z.number().int().min(1).max(16).default(2),
  /** APPEND commands kept in flight per connection. Default 8. */
  pipelineDepth: z.number().int().min(1).max(512).default(8),
  /** Messages per APPEND command when the target has MULTIAPPEND (one transaction each on Dovecot). Default 50; 1 disables. */
  multiAppendBatch: z.number().int().min(1).max(1000).default(50),
  /** Delete on the target what was deleted on the source since the last pass. Default false (report only). */
  deleteOnTarget: z.boolean().default(false),
  /** Copy folder ACLs (RFC 4314), identifiers translated through the identity map. Default true. */
  copyAcls: z.boolean().default(true),
  /** Keywords the target refuses, renamed ({ "$Old": "Old" }); the rest are reported and dropped. */
  keywordMap: z.record(z.string(), z.string()).default({}),
  /**
   * How `mailbox verify` and a batch's verify compare messages. `full` (default): every message
   * read back whole on both sides and compared by the SHA-256 of its bytes, with flags, keywords
   * and internal date; `quick`: Message-ID, size and a hash of the header only (a body damaged
   * at the same size passes), for a fast look. Full costs reading both mailboxes once more.
   */
  verify: z.enum(['full', 'quick']).default('full'),
  /** Character that replaces the target's separator inside a source folder name. Default `∕` for `/`, `․` for `.`. */
  separatorEscape: z.string().length(1).optional(),
});

export type MailCopyOptions = z.infer<typeof mailCopySchema>;

/** The defaults, for library callers that pass nothing. */
export function defaultMailCopyOptions(overrides: Partial<z.input<typeof mailCopySchema>> = {}): MailCopyOptions {
  return mailCopySchema.parse(overrides);
}
