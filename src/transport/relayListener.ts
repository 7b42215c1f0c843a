// One listener of `crossforest relay`: an smtp-server front that reads each message
// once through the inspector into a scratch file, classifies it, applies the remote
// domain policy and hands what is allowed to the next hop before it answers 250.
//
// Why no durable spool: the relay accepts a message only after the next hop accepted
// it, so the sending MTA keeps its copy until then. A crash or restart at any point
// loses nothing (the client retries a 4xx or a dropped connection); the price is that a
// crash between "next hop said 250" and "we said 250" can deliver a message twice,
// which SMTP has always allowed (RFC 5321 §6.1) and which is never a loss.
import { EventEmitter } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { readReferencedFile } from '../config/secret.ts';
import type { RelayLimits, RelayListenerConfig } from '../config/transport.ts';
import type { Logger } from '../util/logger.ts';
import { classifyMessage, headerValue } from './detectRules.ts';
import { RelayError, SmtpReplyError } from './errors.ts';
import { inspectMessage, type MessageInspection } from './messageInspector.ts';
import { createNextHop, type HandOffRecipient } from './nextHop.ts';
import { decide, headersToStrip, type PolicyTable } from './policy.ts';
import { clientPolicy } from './relayClients.ts';
import type { RelayDecision } from './types.ts';

export interface RelayListenerOptions {
  listener: RelayListenerConfig;
  limits: RelayLimits;
  table: PolicyTable;
  hostname: string;
  baseDir: string;
  logger: Logger;
}

/** What happened to one message: emitted as `message` and logged (never the body). */
export interface RelayOutcome {
  listener: string;
  session: string;
  mailFrom: string;
  recipients: string[];
  messageId: string | undefined;
  bytes: number;
  decision: RelayDecision | undefined;
  /** forwarded: the next hop accepted; rejected/dropped: blocked by policy; refused: bad input; deferred/failed: next hop problem. */
  result: 'forwarded' | 'rejected' | 'dropped' | 'refused' | 'deferred' | 'failed';
  reply: string;
  /** The client asked for DSNs (RET/ENVID/NOTIFY/ORCPT) and the next hop does not offer the extension. */
  dsnDropped?: boolean;
  /** Recipients the next hop refused at RCPT while it accepted the message for the others. */
  refusedByNextHop?: { recipient: string; reply: string }[];
}

export interface RelayListenerHandle extends EventEmitter<{ message: [RelayOutcome] }> {
  readonly name: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startRelayListener(opts: RelayListenerOptions): Promise<RelayListenerHandle> {
  const { listener, limits } = opts;
  const log = opts.logger.child({ scope: 'relay', listener: listener.name });
  // Before anything is created or bound: a listener that would be an open relay does not start.
  const clients = clientPolicy(listener, opts.baseDir);
  await removeStaleScratch(listener.name);
  const spool = await mkdtemp(join(tmpdir(), `crossforest-relay-${listener.name}-${process.pid}-`));
  const nextHop = createNextHop(listener, {
    baseDir: opts.baseDir,
    timeoutMs: limits.nextHopTimeoutMs,
    hostname: opts.hostname,
    maxConnections: limits.nextHopConnections,
  });
  const events = new EventEmitter<{ message: [RelayOutcome] }>();
  const keyPath = `transport.listeners.${listener.name}.tls`;
  const tls = listener.tls
    ? {
        key: readReferencedFile(listener.tls.keyFile, opts.baseDir, `${keyPath}.keyFile`),
        cert: readReferencedFile(listener.tls.certFile, opts.baseDir, `${keyPath}.certFile`),
      }
    : undefined;

  const server = new SMTPServer({
    name: opts.hostname,
    banner: 'crossforest policy relay',
    logger: false,
    ...(tls ?? {}),
    hideSTARTTLS: !tls,
    // AUTH only with accounts, and only after TLS: smtp-server would advertise it before
    // STARTTLS (and refuse it there), so a client could send its password in clear; each
    // session starts with AUTH disabled (onConnect) until onSecure turns it back on.
    disabledCommands: tls ? (clients.accounts ? [] : ['AUTH']) : ['AUTH', 'STARTTLS'],
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: false,
    authOptional: true,
    onSecure(_socket, session, callback) {
      session.disabledCommands = undefined;
      callback();
    },
    onConnect(session, callback) {
      if (clients.accounts && !session.secure) session.disabledCommands = ['AUTH'];
      // A listener without accounts has nothing to offer a client that is not on the list.
      if (clients.localOnly || clients.accounts || clients.allowed(session.remoteAddress)) return callback();
      log.info({ client: session.remoteAddress }, 'client not on clients.allow: refused');
      callback(new SmtpReplyError(554, `5.7.1 ${session.remoteAddress} may not use this relay`));
    },
    onAuth(auth, session, callback) {
      const accounts = clients.accounts;
      if (!accounts) return callback(new SmtpReplyError(503, '5.5.1 AUTH not offered'));
      accounts.check(auth.username ?? '', auth.password ?? '').then(
        (name) => {
          if (name) return callback(null, { user: name });
          // The name tried is logged (a spray shows), never the password.
          log.warn({ client: session.remoteAddress, user: auth.username }, 'SMTP AUTH failed');
          callback(new SmtpReplyError(535, '5.7.8 authentication failed'));
        },
        (err: Error) => {
          log.error({ err: err.message }, 'SMTP AUTH could not be checked');
          callback(new SmtpReplyError(454, '4.7.0 temporary authentication failure'));
        },
      );
    },
    disableReverseLookup: true,
    size: limits.maxMessageBytes,
    maxClients: limits.maxConnections,
    maxRecipients: limits.maxRecipients,
    socketTimeout: limits.socketTimeoutMs,
    closeTimeout: 5_000,
    // DSN (RFC 3461) is offered so that RET/ENVID/NOTIFY/ORCPT reach us, and they go on
    // to the next hop with the message (nextHop.ts): "nothing that the policy allows is
    // altered or lost", the sender's delivery-status requests included.
    hideDSN: false,
    onMailFrom(_address, session, callback) {
      if (!clients.localOnly && !session.user && !clients.allowed(session.remoteAddress))
        return callback(new SmtpReplyError(530, '5.7.0 authentication required (STARTTLS, then AUTH)'));
      const envid = session.envelope.dsn?.envid;
      callback(
        envid && !PRINTABLE_ASCII.test(envid) ? new SmtpReplyError(501, '5.5.4 ENVID must be printable US-ASCII (RFC 3461 4.4)') : null,
      );
    },
    onRcptTo(address, _session, callback) {
      const orcpt = address.dsn?.orcpt;
      callback(
        orcpt && !PRINTABLE_ASCII.test(orcpt)
          ? new SmtpReplyError(501, '5.5.4 ORCPT must be printable US-ASCII after xtext decoding (RFC 3461 4.2)')
          : null,
      );
    },
    onData(stream, session, callback) {
      handleMessage(stream, session).then(
        (msg) => callback(null, msg),
        (err: unknown) =>
          callback(err instanceof SmtpReplyError ? err : new SmtpReplyError(451, '4.3.0 local error in the relay; try again later')),
      );
    },
  });
  // Replies are small writes answered by small writes: without TCP_NODELAY, Nagle and
  // delayed ACKs add tens of milliseconds per message.
  server.server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  // smtp-server reports socket-level trouble (resets, TLS errors) here; it must never crash us.
  server.on('error', (err) => log.debug({ err: err.message }, 'client connection error'));

  async function handleMessage(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const recipients = session.envelope.rcptTo.map((r) => r.address);
    const file = join(spool, `${session.id}-${session.transaction}.eml`);
    const outcome: RelayOutcome = {
      listener: listener.name,
      session: session.id,
      mailFrom,
      recipients,
      messageId: undefined,
      bytes: 0,
      decision: undefined,
      result: 'refused',
      reply: '',
    };
    const inspection = inspectMessage({
      mailFrom,
      stripHeaders: headersToStrip(opts.table, listener.direction, mailFrom),
      maxHeaderBytes: limits.maxHeaderBytes,
    });
    try {
      const refusal = await receive(stream, inspection, file, limits.maxMessageBytes);
      outcome.bytes = stream.byteLength;
      if (refusal) throw refusal;
      if (stream.sizeExceeded) throw new SmtpReplyError(552, `5.3.4 message larger than ${limits.maxMessageBytes} bytes`);
      outcome.messageId = headerValue(inspection.evidence.headers, 'message-id')?.slice(0, 200);
      const classification = classifyMessage(inspection.evidence);
      const decision = decide(opts.table, listener.direction, recipients, classification, inspection.stripped);
      outcome.decision = decision;
      if (decision.allowed.length === 0) {
        const why = `${describeKind(classification.kind)} to ${[...new Set(decision.blocked.map((b) => b.recipient.split('@').pop()))].join(', ')} blocked by policy`;
        if (decision.onBlock === 'drop') {
          outcome.result = 'dropped';
          outcome.reply = `250 ${why} (dropped)`;
          return '2.0.0 accepted';
        }
        outcome.result = 'rejected';
        throw new SmtpReplyError(550, `5.7.1 ${why}`);
      }
      const eightBit = session.envelope.bodyType === '8bitmime' || session.envelope.smtpUtf8 === true;
      const dsn = session.envelope.dsn;
      const handed = await nextHop.send(
        {
          from: mailFrom,
          to: allowedRecipients(session, decision.allowed),
          eightBit,
          size: outcome.bytes,
          ret: dsn?.ret ?? undefined,
          envid: dsn?.envid ?? undefined,
        },
        () => createReadStream(file),
      );
      if (handed.dsnDropped) outcome.dsnDropped = true;
      if (handed.refused.length > 0) outcome.refusedByNextHop = handed.refused;
      outcome.result = 'forwarded';
      const partial = decision.blocked.length > 0 ? ` (${decision.blocked.length} recipient(s) withheld by policy)` : '';
      outcome.reply = `250 forwarded${partial}`;
      return `2.0.0 accepted by the next hop${partial}`;
    } catch (err) {
      if (err instanceof SmtpReplyError) {
        if (outcome.result !== 'rejected')
          outcome.result = outcome.decision ? (err.responseCode >= 500 ? 'failed' : 'deferred') : 'refused';
        outcome.reply = `${err.responseCode} ${err.message}`;
      } else {
        outcome.result = 'deferred';
        outcome.reply = `451 ${(err as Error).message}`;
      }
      throw err;
    } finally {
      await unlink(file).catch(() => undefined);
      report(outcome);
    }
  }

  function report(o: RelayOutcome): void {
    const d = o.decision;
    log.info(
      {
        session: o.session,
        mailFrom: o.mailFrom,
        recipients: o.recipients,
        messageId: o.messageId,
        bytes: o.bytes,
        kind: d?.classification.kind,
        signals: d?.classification.signals.map((s) => s.rule),
        blocked: d?.blocked,
        stripped: d?.stripHeaders,
        result: o.result,
        reply: o.reply,
        dsnDropped: o.dsnDropped,
        refusedByNextHop: o.refusedByNextHop,
      },
      `relay ${o.result}`,
    );
    // Not errors of the relay, but things a sender would want to know and will not hear from us.
    if (o.dsnDropped)
      log.warn(
        { session: o.session, messageId: o.messageId },
        'the next hop does not offer DSN: the delivery-status request was not passed on',
      );
    if (o.refusedByNextHop)
      log.warn({ session: o.session, messageId: o.messageId, refused: o.refusedByNextHop }, 'the next hop refused some recipients');
    events.emit('message', o);
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listener.listen.port, listener.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    nextHop.close();
    await rm(spool, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw new RelayError(
      `relay listener ${listener.name} cannot listen on ${listener.listen.host}:${listener.listen.port}: ${code ?? (err as Error).message}`,
      {
        object: `transport.listeners.${listener.name}.listen`,
        hint:
          code === 'EADDRINUSE'
            ? 'another process (a relay already running?) holds the port: stop it or pick another port'
            : 'check the listen host and port',
        cause: err,
      },
    );
  }
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : listener.listen.port;
  log.info({ host: listener.listen.host, port, nextHop: `${listener.nextHop.host}:${listener.nextHop.port}` }, 'relay listening');

  return Object.assign(events, {
    name: listener.name,
    port,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      nextHop.close();
      await rm(spool, { recursive: true, force: true });
    },
  });
}

/** What RFC 3461 allows in ENVID and (decoded) ORCPT; anything else could not be passed on unchanged. */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** The allowed recipients with the DSN parameters each one was given (RCPT TO … NOTIFY= ORCPT=). */
function allowedRecipients(session: SMTPServerSession, allowed: readonly string[]): HandOffRecipient[] {
  const byAddress = new Map(session.envelope.rcptTo.map((r) => [r.address, r]));
  return allowed.map((address) => {
    const dsn = byAddress.get(address)?.dsn;
    return { address, notify: dsn?.notify, orcpt: dsn?.orcpt };
  });
}

function describeKind(kind: string): string {
  return (
    (
      {
        outOfOffice: 'out-of-office reply',
        autoReply: 'automatic reply',
        autoForward: 'automatic forward',
        deliveryReport: 'delivery report',
        nonDeliveryReport: 'non-delivery report',
        readReceipt: 'read receipt',
        autoGenerated: 'automatic message',
      } as Record<string, string>
    )[kind] ?? kind
  );
}

/**
 * Streams the DATA into the inspector and the scratch file. Bad input never throws
 * here: it resolves with the reply to give, after draining the client's data so the
 * SMTP dialogue stays in step.
 */
function receive(stream: Readable, insp: MessageInspection, file: string, maxBytes: number): Promise<SmtpReplyError | undefined> {
  return new Promise((resolve) => {
    const out = createWriteStream(file);
    let failed: SmtpReplyError | undefined;
    let bytes = 0;
    let inputDone = false;
    let outputDone = false;
    const settle = () => {
      if (inputDone && (outputDone || failed)) resolve(failed);
    };
    const fail = (reply: SmtpReplyError) => {
      if (!failed) {
        failed = reply;
        insp.input.destroy();
        out.destroy();
        stream.resume();
      }
      settle();
    };
    insp.output.pipe(out);
    insp.output.on('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'EMAXLEN' || /size/i.test(err.message)
          ? new SmtpReplyError(552, '5.3.4 header block too large')
          : new SmtpReplyError(554, '5.6.0 message could not be parsed'),
      ),
    );
    out.on('error', () => fail(new SmtpReplyError(451, '4.3.0 relay scratch space unavailable; try again later')));
    out.on('finish', () => {
      outputDone = true;
      settle();
    });
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (failed) return;
      if (bytes > maxBytes) {
        fail(new SmtpReplyError(552, `5.3.4 message larger than ${maxBytes} bytes`));
        return;
      }
      if (!insp.input.write(chunk)) {
        stream.pause();
        insp.input.once('drain', () => stream.resume());
      }
    });
    stream.on('end', () => {
      inputDone = true;
      if (!failed) insp.input.end();
      settle();
    });
    // The client went away mid-message: nothing to answer, just clean up.
    stream.on('error', () => {
      inputDone = true;
      fail(new SmtpReplyError(451, '4.4.2 connection lost during DATA'));
    });
  });
}

/**
 * Scratch folders of relays that died without cleaning up (kill -9). They only ever
 * held copies of messages the sender still has, so removing them loses nothing.
 */
async function removeStaleScratch(name: string): Promise<void> {
  const prefix = `crossforest-relay-${name}-`;
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const e of entries) {
    const pid = e.startsWith(prefix) ? Number(/^(\d+)-/.exec(e.slice(prefix.length))?.[1]) : Number.NaN;
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) await rm(join(tmpdir(), e), { recursive: true, force: true });
  }
}
