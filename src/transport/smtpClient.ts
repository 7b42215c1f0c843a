// The relay's SMTP client to its next hop: one connection, one message at a time, written
// on node:net and node:tls alone.
//
// Why our own and not nodemailer's: RFC 3461 puts NOTIFY and ORCPT on each RCPT TO, and the
// relay must pass on what each recipient was given (nextHop.ts says why one transaction per
// recipient, or one value for all, would lose something). nodemailer's public API has one
// `dsn` per message; doing better meant overriding an internal method of its SMTPConnection,
// which any minor release may rename. No maintained Node SMTP client takes per-recipient DSN
// parameters either. What the relay needs is small: the greeting, EHLO, STARTTLS, MAIL/RCPT
// (pipelined when offered), DATA, RSET and QUIT, so it is written here, tested against
// smtp-server and Postfix, and owned.
//
// Replies: "250-…" lines continue a reply, "250 …" ends it (RFC 5321 §4.2.1); with
// PIPELINING (RFC 2920) RSET, MAIL FROM and every RCPT TO go out in one write and their
// replies are read in order; DATA waits for them. The body is dot-stuffed with CRLF line ends
// (dotStuffing.ts) and streamed with backpressure. Errors are SmtpClientError (errors.ts),
// with the server's reply code when it gave one.
import { once } from 'node:events';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { DotStuffer } from './dotStuffing.ts';
import { SmtpClientError, type SmtpClientErrorCode } from './errors.ts';

export interface SmtpClientOptions {
  host: string;
  port: number;
  /** The name given in EHLO/HELO (the relay's hostname). */
  name: string;
  /**
   * none: plain, no STARTTLS even when offered; starttls: upgraded after EHLO, and refused
   * (ETLS) when the server does not offer it; implicit: TLS from the first byte (SMTPS).
   */
  tls: 'none' | 'starttls' | 'implicit';
  /** PEM of the CAs the server's certificate must chain to; default Node's bundled roots. */
  ca?: string | Buffer | undefined;
  /** Verify the server's certificate and name. Default true. */
  rejectUnauthorized?: boolean | undefined;
  /** ms until the TCP connection (with implicit TLS, the handshake too) stands. */
  connectionTimeoutMs: number;
  /** ms from the connection until the 220 greeting. */
  greetingTimeoutMs: number;
  /** ms of silence allowed while waiting for a reply or for the server to take more of the message. */
  socketTimeoutMs: number;
}

export interface SmtpReply {
  code: number;
  lines: string[];
  /** The lines joined with \n. */
  text: string;
}

export interface SmtpRecipient {
  address: string;
  /** What RCPT TO gets after the address when the server offers DSN: ` NOTIFY=… ORCPT=…`, or ''. */
  dsnArgs: string;
}

export interface SmtpEnvelope {
  /** '' for the null sender. */
  from: string;
  to: SmtpRecipient[];
  /** Ask for BODY=8BITMIME (sent when the server offers it). */
  eightBit: boolean;
  /** Bytes, sent as SIZE= when the server offers SIZE; 0: not given. */
  size: number;
  /** What MAIL FROM gets when the server offers DSN: ` RET=… ENVID=…`, or ''. */
  dsnArgs: string;
}

export interface SmtpSendResult {
  accepted: string[];
  /** Recipients refused at RCPT while others were accepted, with the server's reply. */
  refused: { recipient: string; reply: SmtpReply }[];
  /** The reply to the end of the data. */
  reply: SmtpReply;
}

/** Longest reply line and most lines of one reply taken before the server is called broken. */
const MAX_LINE = 4096;
const MAX_LINES = 200;
/** How long a QUIT waits for the server to close before the socket is dropped. */
const QUIT_MS = 2_000;

/** EHLO keywords, upper case, each with its parameters ('' without): `SIZE` → '10240000'. */
export function parseEhlo(reply: SmtpReply): Map<string, string> {
  const extensions = new Map<string, string>();
  for (const line of reply.lines.slice(1)) {
    const [keyword, ...params] = line.slice(4).trim().split(/\s+/);
    if (keyword) extensions.set(keyword.toUpperCase(), params.join(' '));
  }
  return extensions;
}

export class SmtpClient {
  /** `host:port`, for errors and logs. */
  readonly server: string;
  /** What the last EHLO offered (after STARTTLS, the second one's); empty after HELO. */
  extensions = new Map<string, string>();
  /** Resolves when the socket is closed, for whatever reason. */
  readonly closed: Promise<void>;

  private readonly options: SmtpClientOptions;
  private socket: Socket | undefined;
  private phase: 'connect' | 'handshake' | 'session' = 'connect';
  private decoder = new StringDecoder('utf8');
  private buffer = '';
  private lines: string[] = [];
  /** Replies that came before anyone read them (pipelining). */
  private readonly replies: SmtpReply[] = [];
  private readonly waiters: { resolve: (r: SmtpReply) => void; reject: (e: SmtpClientError) => void }[] = [];
  /** The command whose reply is awaited, for errors. */
  private current = 'CONN';
  /** A command is outstanding: silence now is a timeout, and a reply nobody asked for is an error. */
  private busy = false;
  /** A transaction began and has no final reply yet: the next one starts with RSET. */
  private dirty = false;
  private quitting = false;
  /** The message being written: destroyed when the connection fails, so its reading stops too. */
  private body: Readable | undefined;
  /** Set once: the connection is unusable from then on. */
  private failure: SmtpClientError | undefined;
  private readonly failed: Promise<never>;
  private rejectFailed!: (e: SmtpClientError) => void;
  private markClosed!: () => void;

  private constructor(options: SmtpClientOptions) {
    this.options = options;
    this.server = `${options.host}:${options.port}`;
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => undefined);
  }

  /** Connects, reads the greeting, says EHLO and does STARTTLS when the options ask for it. */
  static async connect(options: SmtpClientOptions): Promise<SmtpClient> {
    const client = new SmtpClient(options);
    try {
      await client.open();
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /** Neither failed nor closing: it can take the next message. */
  get usable(): boolean {
    return this.failure === undefined && !this.quitting;
  }

  /**
   * One transaction. A refusal (MAIL FROM, every RCPT TO, DATA, the message) rejects with
   * EENVELOPE/EMESSAGE and leaves the connection usable; anything else closes it.
   */
  async send(envelope: SmtpEnvelope, raw: Readable): Promise<SmtpSendResult> {
    if (this.failure) throw this.failure;
    if (this.busy || this.quitting) throw new Error(`SmtpClient to ${this.server}: one message at a time`);
    this.busy = true;
    try {
      return await this.transaction(envelope, raw);
    } finally {
      this.busy = false;
    }
  }

  /** QUIT and close; never throws. Drops the socket at once when a command is outstanding. */
  quit(): void {
    if (!this.usable || this.busy) {
      this.close();
      return;
    }
    this.quitting = true;
    this.socket?.end('QUIT\r\n');
    setTimeout(() => this.socket?.destroy(), QUIT_MS).unref();
  }

  /** Drops the connection without a word. */
  close(): void {
    this.fail('ECONNECTION', `connection to ${this.server} closed by the relay`);
  }

  private async open(): Promise<void> {
    const o = this.options;
    this.busy = true;
    const implicit = o.tls === 'implicit';
    if (implicit) this.phase = 'handshake';
    const socket = implicit ? tlsConnect({ port: o.port, ...this.tlsOptions() }) : netConnect({ host: o.host, port: o.port });
    this.attach(socket);
    await this.until(once(socket, implicit ? 'secureConnect' : 'connect'), o.connectionTimeoutMs, `no connection to ${this.server}`);
    this.phase = 'session';
    const greeting = await this.until(this.read(), o.greetingTimeoutMs, `no greeting from ${this.server}`);
    if (greeting.code !== 220) throw this.fail('ECONNECTION', `${this.server} does not take mail now`, greeting);
    await this.hello();
    if (o.tls === 'starttls') await this.startTls();
    this.busy = false;
  }

  private async hello(): Promise<void> {
    const ehlo = await this.command(`EHLO ${this.options.name}`, 'EHLO');
    if (ehlo.code === 250) {
      this.extensions = parseEhlo(ehlo);
      return;
    }
    if (this.options.tls === 'starttls') throw this.fail('ETLS', `${this.server} refused EHLO, so STARTTLS cannot be asked for`, ehlo);
    const helo = await this.command(`HELO ${this.options.name}`, 'HELO');
    if (helo.code !== 250) throw this.fail('EPROTOCOL', `${this.server} refused EHLO and HELO`, helo);
    this.extensions = new Map();
  }

  private async startTls(): Promise<void> {
    if (!this.extensions.has('STARTTLS')) throw this.fail('ETLS', `${this.server} does not offer STARTTLS (nextHop.tls.mode is starttls)`);
    const reply = await this.command('STARTTLS', 'STARTTLS');
    if (reply.code !== 220) throw this.fail('ETLS', `${this.server} refused STARTTLS`, reply);
    // Bytes after the 220 and before the handshake would be read as if they came over TLS
    // (the STARTTLS command injection of CVE-2011-0411): a server sending them is broken.
    if (this.buffer !== '' || this.lines.length > 0 || this.replies.length > 0)
      throw this.fail('EPROTOCOL', `${this.server} sent data after its STARTTLS reply`);
    const plain = this.socket!;
    plain.removeAllListeners('data');
    plain.removeAllListeners('timeout');
    plain.setTimeout(0);
    this.phase = 'handshake';
    const secure = tlsConnect({ socket: plain, ...this.tlsOptions() });
    this.attach(secure);
    this.decoder = new StringDecoder('utf8');
    await this.until(once(secure, 'secureConnect'), this.options.connectionTimeoutMs, `no TLS handshake with ${this.server}`);
    this.phase = 'session';
    await this.hello();
  }

  private tlsOptions(): ConnectionOptions {
    const o = this.options;
    return {
      host: o.host,
      // SNI takes names only (RFC 6066); an IP is still checked against the certificate's IP SANs.
      servername: isIP(o.host) ? undefined : o.host,
      ca: o.ca,
      rejectUnauthorized: o.rejectUnauthorized ?? true,
    };
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    // Commands and the body's last chunk are small writes; Nagle would hold them for an ACK.
    socket.setNoDelay(true);
    socket.setTimeout(this.options.socketTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => {
      if (this.busy) this.fail('ETIMEDOUT', `no answer from ${this.server} within ${this.options.socketTimeoutMs} ms`);
    });
    socket.on('error', (err: Error) => {
      const code: SmtpClientErrorCode = this.phase === 'handshake' ? 'ETLS' : this.phase === 'connect' ? 'ECONNECTION' : 'ESOCKET';
      this.fail(code, `${this.server}: ${err.message}`, undefined, err);
    });
    socket.once('close', () => {
      this.fail('ECONNECTION', `${this.server} closed the connection`);
      this.markClosed();
    });
  }

  private async transaction(envelope: SmtpEnvelope, raw: Readable): Promise<SmtpSendResult> {
    const addresses = [envelope.from, ...envelope.to.map((r) => r.address)];
    const bad = addresses.find((a) => /[\r\n<>]/.test(a));
    if (bad !== undefined) throw this.refusal('EENVELOPE', `invalid address ${JSON.stringify(bad)}`, 'MAIL FROM');
    if (envelope.to.length === 0) throw this.refusal('EENVELOPE', 'no recipients', 'RCPT TO');
    const has = (keyword: string) => this.extensions.has(keyword);
    let mail = `MAIL FROM:<${envelope.from}>`;
    if (envelope.size > 0 && has('SIZE')) mail += ` SIZE=${envelope.size}`;
    if (envelope.eightBit && has('8BITMIME')) mail += ' BODY=8BITMIME';
    if (has('SMTPUTF8') && addresses.some((a) => !/^[ -~]*$/.test(a))) mail += ' SMTPUTF8';
    if (has('DSN')) mail += envelope.dsnArgs;
    const rset = this.dirty;
    this.dirty = true;
    const commands: [line: string, name: string][] = rset ? [['RSET', 'RSET']] : [];
    commands.push([mail, 'MAIL FROM']);
    for (const r of envelope.to) commands.push([`RCPT TO:<${r.address}>${has('DSN') ? r.dsnArgs : ''}`, 'RCPT TO']);
    const first = rset ? 1 : 0;
    const replies = await this.exchange(commands, (reply, i) => i <= first && reply.code !== 250);
    if (rset && replies[0]!.code !== 250) throw this.fail('EPROTOCOL', `${this.server} refused RSET`, replies[0]);
    const mailReply = replies[first]!;
    if (mailReply.code !== 250)
      throw this.refusal('EENVELOPE', `${this.server} refused MAIL FROM:<${envelope.from}>`, 'MAIL FROM', mailReply);

    const accepted: string[] = [];
    const refused: SmtpSendResult['refused'] = [];
    envelope.to.forEach((r, i) => {
      const reply = replies[first + 1 + i]!;
      if (reply.code === 250 || reply.code === 251) accepted.push(r.address);
      else refused.push({ recipient: r.address, reply });
    });
    if (accepted.length === 0) {
      // A temporary refusal wins: one 4xx among 5xx means "try again later", not "bounce".
      const why = refused.find((r) => r.reply.code < 500) ?? refused.at(-1);
      throw this.refusal('EENVELOPE', `${this.server} refused every recipient`, 'RCPT TO', why?.reply);
    }

    const data = await this.command('DATA', 'DATA');
    if (data.code !== 354) throw this.refusal('EENVELOPE', `${this.server} refused DATA`, 'DATA', data);
    await this.writeBody(raw);
    const final = await this.take('DATA');
    this.dirty = false;
    if (final.code !== 250) throw this.refusal('EMESSAGE', `${this.server} refused the message`, 'DATA', final);
    return { accepted, refused, reply: final };
  }

  /**
   * Sends the commands, in one write with PIPELINING, and returns their replies in order.
   * Without pipelining it stops after a reply `stop` says ends the exchange.
   */
  private async exchange(commands: [line: string, name: string][], stop: (reply: SmtpReply, i: number) => boolean): Promise<SmtpReply[]> {
    const replies: SmtpReply[] = [];
    if (this.extensions.has('PIPELINING')) {
      this.write(commands.map(([line]) => `${line}\r\n`).join(''));
      for (const [, name] of commands) replies.push(await this.take(name));
    } else {
      for (const [i, [line, name]] of commands.entries()) {
        this.write(`${line}\r\n`);
        const reply = await this.take(name);
        replies.push(reply);
        if (stop(reply, i)) break;
      }
    }
    return replies;
  }

  /** The next reply, to `name`. A 421 (the server is closing) ends the connection. */
  private async take(name: string): Promise<SmtpReply> {
    this.current = name;
    const reply = await this.read();
    if (reply.code === 421) throw this.fail('ECONNECTION', `${this.server} is closing the connection`, reply);
    return reply;
  }

  private command(line: string, name: string): Promise<SmtpReply> {
    this.write(`${line}\r\n`);
    return this.take(name);
  }

  private write(data: string | Buffer): boolean {
    if (this.failure) throw this.failure;
    return this.socket!.write(data);
  }

  private async writeBody(raw: Readable): Promise<void> {
    const stuffer = new DotStuffer();
    this.body = raw;
    try {
      for await (const chunk of raw) {
        if (!this.write(stuffer.feed(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)))) {
          await Promise.race([once(this.socket!, 'drain'), this.failed]);
        }
      }
    } catch (err) {
      if (this.failure) throw this.failure;
      // The end of the data must not go out after half a message (the next hop would take
      // it), so the connection goes.
      throw this.fail('ESTREAM', `the message could not be read: ${(err as Error).message}`, undefined, err);
    } finally {
      this.body = undefined;
    }
    this.write(stuffer.finish());
  }

  private read(): Promise<SmtpReply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** `work`, unless the connection fails first or `ms` pass (ETIMEDOUT). */
  private async until<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.fail('ETIMEDOUT', `${what} within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([work, this.failed, timeout]);
    } catch (err) {
      throw this.failure ?? err;
    } finally {
      clearTimeout(timer);
    }
  }

  private onData(chunk: Buffer): void {
    this.buffer += this.decoder.write(chunk);
    for (let nl = this.buffer.indexOf('\n'); nl >= 0 && !this.failure; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.onLine(line);
    }
    if (this.buffer.length > MAX_LINE) this.fail('EPROTOCOL', `${this.server} sent a reply line over ${MAX_LINE} characters`);
  }

  private onLine(line: string): void {
    const m = /^(\d{3})([ -]|$)/.exec(line);
    if (!m || line.length > MAX_LINE) {
      this.fail('EPROTOCOL', `${this.server} sent something that is not an SMTP reply: ${JSON.stringify(line.slice(0, 100))}`);
      return;
    }
    this.lines.push(line);
    if (m[2] === '-') {
      if (this.lines.length > MAX_LINES) this.fail('EPROTOCOL', `${this.server} sent a reply of over ${MAX_LINES} lines`);
      return;
    }
    const reply: SmtpReply = { code: Number(m[1]), lines: this.lines, text: this.lines.join('\n') };
    this.lines = [];
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(reply);
    else if (this.quitting) return;
    // Idle, a server only speaks to say goodbye (421); anything else would answer our next command.
    else if (!this.busy || reply.code === 421) this.fail('ECONNECTION', `${this.server} said, unasked`, reply);
    else this.replies.push(reply);
  }

  /** A refusal: the connection stays usable. */
  private refusal(code: SmtpClientErrorCode, message: string, command: string, reply?: SmtpReply): SmtpClientError {
    return new SmtpClientError(code, message, { server: this.server, command, reply });
  }

  /** Ends the connection; the first failure is the one every later call gets. */
  private fail(code: SmtpClientErrorCode, message: string, reply?: SmtpReply, cause?: unknown): SmtpClientError {
    if (this.failure) return this.failure;
    const err = new SmtpClientError(code, message, { server: this.server, command: this.current, reply, cause });
    this.failure = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.rejectFailed(err);
    this.body?.destroy();
    if (this.socket) this.socket.destroy();
    else this.markClosed();
    return err;
  }
}
