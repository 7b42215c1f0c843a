// What a pipeline step gets: the setup, the state store, the batch and its target store,
// a logger scoped to the mailbox, and a way to report live events.
import type { MailCopyOptions } from '../config/mail.ts';
import { defaultMailCopyOptions } from '../config/mail.ts';
import type { TargetStoreConfig } from '../config/migration.ts';
import { mailEndpoint } from '../mail/endpoint.ts';
import type { MailEndpoint } from '../mail/types.ts';
import type { StateStore } from '../state/store.ts';
import type { Logger } from '../util/logger.ts';
import type { MailboxClaim } from './mailboxLease.ts';
import { type MigrationSetup, sourceMailStore, targetMailStore } from './setup.ts';
import type { Batch, MailboxRow, RunEvent } from './types.ts';

export interface StepContext {
  setup: MigrationSetup;
  store: StateStore;
  batch: Batch;
  targetStore: TargetStoreConfig;
  logger: Logger;
  emit(e: RunEvent): void;
  /** Copied messages/bytes as they happen (throughput samples). */
  onCopied?(messages: number, bytes: number): void;
  /** The mailbox's lease (set per mailbox): each step's bookkeeping is fenced by it. */
  claim?: MailboxClaim;
}

export function endpoints(ctx: StepContext, m: MailboxRow): { source: MailEndpoint; target: MailEndpoint } {
  const base = ctx.setup.project.baseDir;
  const src = sourceMailStore(ctx.setup, m.plan.sourceStore);
  const tgt = targetMailStore(ctx.setup, ctx.batch.targetStore);
  return {
    source: mailEndpoint(src, m.sourceLogin, { baseDir: base, keyPath: src.keyPath }),
    target: mailEndpoint(tgt, m.plan.targetLogin, { baseDir: base, keyPath: tgt.keyPath }),
  };
}

/** The project's copy options with the batch's limits and retry interval. */
export function copyOptions(ctx: StepContext): MailCopyOptions {
  const o = ctx.batch.options;
  return {
    ...(ctx.setup.project.config.mail ?? defaultMailCopyOptions()),
    badItemLimit: o.badItemLimit,
    largeItemLimit: o.largeItemLimit,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
