// A MailEndpoint from the project file: one organization's store, one mailbox, sessions
// opened by the shared openMailSession (master user on behalf of the mailbox owner).
import type { MailStoreConfig } from '../config/organization.ts';
import type { Logger } from '../util/logger.ts';
import { openMailSession, storeAddress } from './connection.ts';
import type { MailEndpoint } from './types.ts';

export function mailEndpoint(cfg: MailStoreConfig, mailbox: string, opts: { baseDir: string; keyPath: string; logger?: Logger }): MailEndpoint {
  return {
    address: storeAddress(cfg),
    timeoutMs: Math.max(cfg.timeoutMs, 60_000),
    // imapflow's own logger stays off for bulk sessions (it logs every command at debug).
    open: () => openMailSession(cfg, mailbox, { baseDir: opts.baseDir, keyPath: opts.keyPath }),
  };
}
