// Hands a message to the next hop over SMTP, bytes as they are (`raw`), envelope as the
// client gave it: sender, recipients, BODY=8BITMIME / SMTPUTF8, and the DSN request of
// RFC 3461 (RET and ENVID on MAIL FROM, NOTIFY and ORCPT on each RCPT TO). The relay
// answers its client only after this resolves, so the next hop's acceptance is the
// relay's acceptance: no queue of our own.
//
// Why nodemailer's SMTPConnection and a pool of our own, not nodemailer's pooled transport:
// the transport takes one `dsn` per message, i.e. one NOTIFY and one ORCPT for every
// recipient. But ORCPT is per recipient by nature (the address before aliasing), and Postfix
// sends one with every RCPT it relays, so nearly every multi-recipient message reaching the
// relay carries different per-recipient values. The alternatives lose something:
// - one transaction per distinct (NOTIFY, ORCPT) would send a message to 50 recipients 50
//   times (50× the bytes to the next hop) and turn one DATA reply into 50 outcomes that
//   accept-after-accept cannot answer honestly when only some of them fail;
// - forwarding the first recipient's values for all would hand recipients DSNs they did not
//   ask for (or none they did).
// So each RCPT TO carries its own NOTIFY/ORCPT in one transaction. SMTPConnection builds the
// RCPT parameters in `_getDsnRcptToArgs()` from the envelope-wide `dsn`; DsnConnection
// overrides that one method to look up the recipient just queued. It is internal API of
// nodemailer 10: `assertNodemailerInternals()` refuses to start the relay if it is missing,
// and test/transport/dsn.test.ts checks every parameter on the wire.
import type { Readable } from 'node:stream';
import SMTPConnection, { type SMTPConnectionOptions, type SMTPConnectionSendInfo } from 'nodemailer/lib/smtp-connection';
import pLimit, { type LimitFunction } from 'p-limit';
import { readReferencedFile } from '../config/secret.ts';
import type { RelayListenerConfig } from '../config/transport.ts';
import { SmtpReplyError } from './errors.ts';

export interface NextHop {
  /** `openRaw` is called once per attempt (a dead pooled connection is retried on a fresh one). */
  send(envelope: HandOffEnvelope, openRaw: () => Readable): Promise<HandOffResult>;
  close(): void;
}

export interface HandOffRecipient {
  address: string;
  /** NOTIFY values as the client gave them (upper case), absent when it gave none. */
  notify?: readonly string[] | undefined;
  /** ORCPT as the client gave it, xtext-decoded (`rfc822;user@example.com`). */
  orcpt?: string | undefined;
}

export interface HandOffEnvelope {
  /** '' for the null sender. */
  from: string;
  to: HandOffRecipient[];
  /** The client declared BODY=8BITMIME (or the body has 8-bit bytes). */
  eightBit: boolean;
  size: number;
  /** RET of MAIL FROM (RFC 3461), absent when the client gave none. */
  ret?: string | undefined;
  /** ENVID of MAIL FROM, xtext-decoded, absent when the client gave none. */
  envid?: string | undefined;
}

export interface HandOffResult {
  /** The client asked for DSNs but the next hop does not offer the DSN extension, so they were not passed on. */
  dsnDropped: boolean;
  /** Recipients the next hop refused at RCPT while it took the message for the others. */
  refused: { recipient: string; reply: string }[];
}

/** True when the client gave any DSN parameter. */
export function requestsDsn(e: HandOffEnvelope): boolean {
  return e.ret !== undefined || e.envid !== undefined || e.to.some((r) => r.notify !== undefined || r.orcpt !== undefined);
}

/**
 * xtext (RFC 3461 §4): "+" "=" and anything outside "!".."~" as +XX. Values reach us
 * xtext-decoded by smtp-server and are printable US-ASCII (the listener refuses others),
 * so this gives the next hop the same value the client sent.
 */
export function encodeXtext(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out +=
      byte < 0x21 || byte > 0x7e || byte === 0x2b || byte === 0x3d
        ? `+${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}

/** What RCPT TO gets after the address: ` NOTIFY=… ORCPT=…`, or '' without them. */
export function rcptDsnArgs(r: HandOffRecipient): string {
  let args = '';
  if (r.notify && r.notify.length > 0) args += ` NOTIFY=${r.notify.join(',')}`;
  if (r.orcpt) args += ` ORCPT=${encodeXtext(r.orcpt)}`;
  return args;
}

/** The SMTPConnection internals DsnConnection relies on (nodemailer 10). */
interface ConnectionInternals {
  _recipientQueue: string[];
  _supportedExtensions: string[];
}

/**
 * One SMTP connection to the next hop whose RCPT TO commands carry each recipient's own
 * NOTIFY and ORCPT (see the top of this file). `rcptArgs` is filled before every send.
 */
class DsnConnection extends SMTPConnection {
  rcptArgs = new Map<string, string>();
  /** A recipient whose arguments could not be found (nodemailer changed how it names them). */
  unmatched: string | undefined;
  messages = 0;
  idleTimer: NodeJS.Timeout | undefined;

  get offersDsn(): boolean {
    return (this as unknown as ConnectionInternals)._supportedExtensions.includes('DSN');
  }

  // Called by SMTPConnection._sendRcpt() right after it queued the recipient. Never throws:
  // without pipelining it runs inside a socket data handler.
  _getDsnRcptToArgs(): string {
    if (!this.offersDsn) return '';
    const rcpt = (this as unknown as ConnectionInternals)._recipientQueue.at(-1);
    const args = rcpt === undefined ? undefined : this.rcptArgs.get(rcpt);
    if (args === undefined) {
      this.unmatched = rcpt ?? '(none)';
      return '';
    }
    return args;
  }
}

/** Refuses to start with a nodemailer whose SMTPConnection no longer has the hooks DsnConnection needs. */
export function assertNodemailerInternals(): void {
  const proto = SMTPConnection.prototype as unknown as Record<string, unknown>;
  if (typeof proto._getDsnRcptToArgs !== 'function' || typeof proto._sendRcpt !== 'function') {
    throw new Error(
      "nodemailer's SMTPConnection has no _getDsnRcptToArgs/_sendRcpt: this nodemailer version cannot pass per-recipient DSN parameters; install nodemailer 10.x (package.json)",
    );
  }
}

export function createNextHop(
  listener: RelayListenerConfig,
  opts: { baseDir: string; timeoutMs: number; hostname: string; maxConnections: number },
): NextHop {
  assertNodemailerInternals();
  const hop = listener.nextHop;
  const tlsMode = hop.tls.mode;
  const ca = hop.tls.caFile
    ? readReferencedFile(hop.tls.caFile, opts.baseDir, `transport.listeners.${listener.name}.nextHop.tls.caFile`)
    : undefined;
  const where = `${hop.host}:${hop.port}`;
  const pool = new HopPool(
    {
      host: hop.host,
      port: hop.port,
      name: opts.hostname,
      secure: tlsMode === 'implicit',
      requireTLS: tlsMode === 'starttls',
      // Plain mode means plain: an opportunistic STARTTLS to a lab MTA with a private CA
      // would fail verification and defer every message.
      ignoreTLS: tlsMode === 'none',
      tls: { ca, rejectUnauthorized: !hop.tls.insecureSkipVerify },
      connectionTimeout: opts.timeoutMs,
      greetingTimeout: opts.timeoutMs,
      socketTimeout: opts.timeoutMs,
      dnsTimeout: opts.timeoutMs,
    },
    opts.maxConnections,
  );
  return {
    async send(envelope, openRaw) {
      try {
        return await pool.send(envelope, openRaw);
      } catch (err) {
        throw toReply(err, where);
      }
    },
    close() {
      pool.close();
    },
  };
}

/** Messages per connection before it is renewed, and how long an unused one is kept. */
const MAX_MESSAGES = 100;
const IDLE_MS = 30_000;

/**
 * A few reused connections: a new TCP + EHLO per message costs more than the relay's own
 * work. At most `max` connections at once; a message waits for a free one.
 */
class HopPool {
  private readonly idle: DsnConnection[] = [];
  private closed = false;
  private readonly options: SMTPConnectionOptions;
  /** At most `max` messages in flight, the rest waiting in order (p-limit). */
  private readonly limit: LimitFunction;

  constructor(options: SMTPConnectionOptions, max: number) {
    this.options = options;
    this.limit = pLimit(max);
  }

  async send(envelope: HandOffEnvelope, openRaw: () => Readable): Promise<HandOffResult> {
    if (this.closed) throw new Error('the relay is shutting down');
    return this.limit(async () => {
      const reused = this.takeIdle();
      const conn = reused ?? (await this.connect());
      const raw = openRaw();
      try {
        return await this.sendOn(conn, envelope, raw);
      } catch (err) {
        // The next hop closed a connection that sat idle in the pool before a byte of the
        // message went out: nothing was sent, so a fresh connection may try once more.
        const e = err as { code?: string; responseCode?: number };
        const stale = e.code === 'ECONNECTION' || e.code === 'ESOCKET' || e.responseCode === 421;
        if (reused && stale && !raw.readableDidRead) {
          raw.destroy();
          return await this.sendOn(await this.connect(), envelope, openRaw());
        }
        throw err;
      }
    });
  }

  close(): void {
    this.closed = true;
    for (const conn of this.idle.splice(0)) this.retire(conn);
  }

  private takeIdle(): DsnConnection | undefined {
    for (;;) {
      const conn = this.idle.pop();
      if (!conn) return undefined;
      clearTimeout(conn.idleTimer);
      if (!(conn as unknown as { _destroyed: boolean })._destroyed) return conn;
    }
  }

  private connect(): Promise<DsnConnection> {
    const conn = new DsnConnection(this.options);
    return new Promise((resolve, reject) => {
      let settled = false;
      // Always listened to: an unhandled 'error' event would end the process. Errors during
      // a send also reach the send's callback, which decides what they mean.
      conn.on('error', (err: Error) => {
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      conn.once('end', () => {
        const i = this.idle.indexOf(conn);
        if (i >= 0) this.idle.splice(i, 1);
        clearTimeout(conn.idleTimer);
        if (!settled) {
          settled = true;
          reject(Object.assign(new Error('connection closed before the greeting'), { code: 'ECONNECTION' }));
        }
      });
      conn.connect((err) => {
        if (settled) return;
        settled = true;
        if (err) {
          conn.close();
          reject(err);
        } else resolve(conn);
      });
    });
  }

  private sendOn(conn: DsnConnection, envelope: HandOffEnvelope, raw: Readable): Promise<HandOffResult> {
    const to = envelope.to.map((r) => r.address.trim());
    conn.rcptArgs = new Map(envelope.to.map((r) => [r.address.trim(), rcptDsnArgs(r)]));
    conn.unmatched = undefined;
    const dsn =
      envelope.ret !== undefined || envelope.envid !== undefined ? { ret: envelope.ret ?? null, envid: envelope.envid ?? null } : undefined;
    return new Promise<SMTPConnectionSendInfo>((resolve, reject) => {
      try {
        conn.send({ from: envelope.from, to, use8BitMime: envelope.eightBit, size: envelope.size, dsn }, raw, (err, info) =>
          err ? reject(err) : resolve(info as SMTPConnectionSendInfo),
        );
      } catch (err) {
        reject(err);
      }
    }).then(
      (info) => {
        if (conn.unmatched !== undefined) {
          // Cannot happen with nodemailer 10 (see assertNodemailerInternals). If it does, the
          // message went without some DSN parameters: a 451 makes the client try again (a
          // duplicate at worst) and the log says why, rather than losing the request quietly.
          this.retire(conn);
          throw new Error(`DSN parameters of recipient ${conn.unmatched} could not be matched; the nodemailer version is not supported`);
        }
        this.park(conn);
        const refused = (info.rejectedErrors ?? []).map((e) => ({
          recipient: String((e as { recipient?: string }).recipient ?? ''),
          reply: String((e as { response?: string }).response ?? e.message).replace(/[\r\n]+/g, ' '),
        }));
        return { dsnDropped: requestsDsn(envelope) && !conn.offersDsn, refused };
      },
      (err: unknown) => {
        // Simplest safe state after any failure: a new connection for the next message.
        this.retire(conn);
        throw err;
      },
    );
  }

  private park(conn: DsnConnection): void {
    conn.messages++;
    if (this.closed || conn.messages >= MAX_MESSAGES) {
      this.retire(conn);
      return;
    }
    conn.idleTimer = setTimeout(() => {
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      this.retire(conn);
    }, IDLE_MS);
    conn.idleTimer.unref();
    this.idle.push(conn);
  }

  private retire(conn: DsnConnection): void {
    clearTimeout(conn.idleTimer);
    if ((conn as unknown as { _destroyed: boolean })._destroyed) return;
    try {
      conn.quit();
    } catch {
      conn.close();
    }
  }
}

/**
 * The next hop's refusal becomes ours with the same class: a 5xx stays permanent (the
 * client bounces), anything else (4xx, connection refused, timeout) is a temporary 451
 * so the client keeps the message and retries.
 */
function toReply(err: unknown, where: string): SmtpReplyError {
  const e = err as { responseCode?: number; response?: string; code?: string; message?: string };
  const said = (e.response ?? e.message ?? String(err)).replace(/[\r\n]+/g, ' ').slice(0, 200);
  if (typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600) {
    return new SmtpReplyError(e.responseCode === 552 ? 552 : 554, `5.0.0 next hop ${where} refused: ${said}`);
  }
  return new SmtpReplyError(
    451,
    `4.4.0 next hop ${where} did not accept (${e.code ?? e.responseCode ?? 'error'}): ${said}; try again later`,
  );
}
