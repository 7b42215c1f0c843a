// Opens an IMAP session on one organization's store, as the master user acting for a
// mailbox owner (Dovecot `user*master`, or SASL PLAIN authzid for Cyrus/Exchange).
import { createSecureContext, type SecureContext } from 'node:tls';
import { ImapFlow } from 'imapflow';
import { imapPort, type MailStoreConfig } from '../config/organization.ts';
import { readReferencedFile, resolveSecret } from '../config/secret.ts';
import type { Logger } from '../util/logger.ts';
import { toMailStoreError } from './errors.ts';

export interface MailSessionOptions {
  baseDir: string;
  /** Key path of the store in the project file, for messages (organizations.a.mailStore). */
  keyPath: string;
  logger?: Logger;
  /** Log in as this user with their own password instead of impersonating. */
  ownLogin?: { user: string; password: string };
}

/** Where the store is, for messages: `imap://127.0.0.1:1431`. Never includes credentials. */
export function storeAddress(cfg: MailStoreConfig): string {
  return `${cfg.tls === 'implicit' ? 'imaps' : 'imap'}://${cfg.host}:${imapPort(cfg)}`;
}

export function imapAuthFor(cfg: MailStoreConfig, mailbox: string, password: string) {
  return cfg.impersonation === 'separator'
    ? { user: `${mailbox}${cfg.masterSeparator}${cfg.masterUser}`, pass: password }
    : { user: cfg.masterUser, pass: password, authzid: mailbox, loginMethod: 'AUTH=PLAIN' };
}

// One TLS context per store and CA: built from the CA file once, not at every connection (a
// copy opens several connections per mailbox, and parsing the CA into a fresh context each
// time was a visible share of a batch's CPU). Keyed by the file's resolved text, so a CA
// file that changes while the process runs is picked up.
const contexts = new Map<string, SecureContext>();
function secureContextFor(caFile: Buffer | undefined): SecureContext | undefined {
  if (caFile === undefined) return undefined;
  const ca = caFile.toString('latin1');
  let ctx = contexts.get(ca);
  if (!ctx) {
    ctx = createSecureContext({ ca });
    if (contexts.size > 64) contexts.clear();
    contexts.set(ca, ctx);
  }
  return ctx;
}

/** A logged-in ImapFlow for `mailbox` (a login name such as a UPN). Caller logs out. */
export async function openMailSession(cfg: MailStoreConfig, mailbox: string, opts: MailSessionOptions): Promise<ImapFlow> {
  const auth = opts.ownLogin
    ? { user: opts.ownLogin.user, pass: opts.ownLogin.password }
    : imapAuthFor(cfg, mailbox, resolveSecret(cfg.masterPassword, opts.baseDir, `${opts.keyPath}.masterPassword`));
  const client = new ImapFlow({
    host: cfg.host,
    port: imapPort(cfg),
    secure: cfg.tls === 'implicit',
    doSTARTTLS: cfg.tls === 'starttls' ? true : cfg.tls === 'none' ? false : undefined,
    tls: {
      secureContext: secureContextFor(cfg.caFile ? readReferencedFile(cfg.caFile, opts.baseDir, `${opts.keyPath}.caFile`) : undefined),
      rejectUnauthorized: !cfg.insecureSkipVerify,
    },
    auth,
    logger: opts.logger ? (opts.logger.child({ store: storeAddress(cfg) }) as never) : false,
    clientInfo: { name: 'crossforest' },
    disableAutoIdle: true,
    connectionTimeout: cfg.timeoutMs,
    greetingTimeout: cfg.timeoutMs,
    socketTimeout: Math.max(cfg.timeoutMs, 60_000),
  });
  // imapflow emits 'error' on socket trouble after connect; without a listener it would crash the process.
  client.on('error', (err: Error) => opts.logger?.warn({ err: err.message, mailbox }, 'IMAP connection error'));
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw toMailStoreError(err, `log in to ${mailbox}`, storeAddress(cfg));
  }
  return client;
}
