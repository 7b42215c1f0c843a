// Hands a message to the next hop over SMTP, bytes as they are (`raw`), envelope as the
// client gave it: sender, recipients, BODY=8BITMIME / SMTPUTF8, and the DSN request of
// RFC 3461 (RET and ENVID on MAIL FROM, NOTIFY and ORCPT on each RCPT TO). The relay
// answers its client only after this resolves, so the next hop's acceptance is the
// relay's acceptance: no queue of our own.
//
// Why one transaction with each recipient's own parameters: nodemailer's transport (like
// most SMTP client APIs) takes one `dsn` per message, i.e. one NOTIFY and one ORCPT for every
// recipient. But ORCPT is per recipient by nature (the address before aliasing), and Postfix
// sends one with every RCPT it relays, so nearly every multi-recipient message reaching the
// relay carries different per-recipient values. The alternatives lose something:
// - one transaction per distinct (NOTIFY, ORCPT) would send a message to 50 recipients 50
//   times (50× the bytes to the next hop) and turn one DATA reply into 50 outcomes that
//   accept-after-accept cannot answer honestly when only some of them fail;
// - forwarding the first recipient's values for all would hand recipients DSNs they did not
//   ask for (or none they did).
// So each RCPT TO carries its own NOTIFY/ORCPT in one transaction, sent by our own SMTP
// client (smtpClient.ts: no maintained Node client takes per-recipient parameters through a
// public API), pooled here. test/transport/dsn.test.ts checks every parameter on the wire.
import type { Readable } from 'node:stream';
import pLimit, { type LimitFunction } from 'p-limit';
import { readReferencedFile } from '../config/secret.ts';
import type { RelayListenerConfig } from '../config/transport.ts';
import { type SmtpClientError, SmtpReplyError } from './errors.ts';
import { SmtpClient, type SmtpClientOptions, type SmtpEnvelope } from './smtpClient.ts';

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

/** What MAIL FROM gets after the address: ` RET=… ENVID=…`, or '' without them. */
function mailDsnArgs(e: HandOffEnvelope): string {
  let args = '';
  if (e.ret !== undefined) args += ` RET=${encodeXtext(e.ret.toUpperCase())}`;
  if (e.envid !== undefined) args += ` ENVID=${encodeXtext(e.envid)}`;
  return args;
}

function smtpEnvelope(e: HandOffEnvelope): SmtpEnvelope {
  return {
    from: e.from,
    to: e.to.map((r) => ({ address: r.address.trim(), dsnArgs: rcptDsnArgs(r) })),
    eightBit: e.eightBit,
    size: e.size,
    dsnArgs: mailDsnArgs(e),
  };
}

export function createNextHop(
  listener: RelayListenerConfig,
  opts: { baseDir: string; timeoutMs: number; hostname: string; maxConnections: number },
): NextHop {
  const hop = listener.nextHop;
  const ca = hop.tls.caFile
    ? readReferencedFile(hop.tls.caFile, opts.baseDir, `transport.listeners.${listener.name}.nextHop.tls.caFile`)
    : undefined;
  const where = `${hop.host}:${hop.port}`;
  const pool = new HopPool(
    {
      host: hop.host,
      port: hop.port,
      name: opts.hostname,
      // Plain mode means plain: an opportunistic STARTTLS to a lab MTA with a private CA
      // would fail verification and defer every message.
      tls: hop.tls.mode,
      ca,
      rejectUnauthorized: !hop.tls.insecureSkipVerify,
      connectionTimeoutMs: opts.timeoutMs,
      greetingTimeoutMs: opts.timeoutMs,
      socketTimeoutMs: opts.timeoutMs,
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

/** A pooled connection: how many messages it carried, and the timer that retires it unused. */
interface Pooled {
  client: SmtpClient;
  messages: number;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * A few reused connections: a new TCP + EHLO per message costs more than the relay's own
 * work. At most `max` connections at once; a message waits for a free one.
 */
class HopPool {
  private readonly idle: Pooled[] = [];
  private closed = false;
  private readonly options: SmtpClientOptions;
  /** At most `max` messages in flight, the rest waiting in order (p-limit). */
  private readonly limit: LimitFunction;

  constructor(options: SmtpClientOptions, max: number) {
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

  private takeIdle(): Pooled | undefined {
    for (;;) {
      const conn = this.idle.pop();
      if (!conn) return undefined;
      clearTimeout(conn.idleTimer);
      if (conn.client.usable) return conn;
    }
  }

  private async connect(): Promise<Pooled> {
    const conn: Pooled = { client: await SmtpClient.connect(this.options), messages: 0, idleTimer: undefined };
    void conn.client.closed.then(() => {
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      clearTimeout(conn.idleTimer);
    });
    return conn;
  }

  private async sendOn(conn: Pooled, envelope: HandOffEnvelope, raw: Readable): Promise<HandOffResult> {
    try {
      const sent = await conn.client.send(smtpEnvelope(envelope), raw);
      this.park(conn);
      return {
        dsnDropped: requestsDsn(envelope) && !conn.client.extensions.has('DSN'),
        refused: sent.refused.map((r) => ({ recipient: r.recipient, reply: r.reply.text.replace(/[\r\n]+/g, ' ') })),
      };
    } catch (err) {
      // A refusal leaves the connection usable (the next message starts with RSET); any other
      // failure has closed it.
      if (conn.client.usable) this.park(conn);
      else this.retire(conn);
      throw err;
    } finally {
      raw.destroy(); // read to its end by now, or abandoned: its file descriptor goes either way
    }
  }

  private park(conn: Pooled): void {
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

  private retire(conn: Pooled): void {
    clearTimeout(conn.idleTimer);
    conn.client.quit();
  }
}

/**
 * The next hop's refusal becomes ours with the same class: a 5xx stays permanent (the
 * client bounces), anything else (4xx, connection refused, timeout) is a temporary 451
 * so the client keeps the message and retries.
 */
function toReply(err: unknown, where: string): SmtpReplyError {
  const e: Partial<Pick<SmtpClientError, 'responseCode' | 'response' | 'code' | 'message'>> = err instanceof Error ? err : {};
  const said = (e.response ?? e.message ?? String(err)).replace(/[\r\n]+/g, ' ').slice(0, 200);
  if (typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600) {
    return new SmtpReplyError(e.responseCode === 552 ? 552 : 554, `5.0.0 next hop ${where} refused: ${said}`);
  }
  return new SmtpReplyError(
    451,
    `4.4.0 next hop ${where} did not accept (${e.code ?? e.responseCode ?? 'error'}): ${said}; try again later`,
  );
}
