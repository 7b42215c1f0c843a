// A raw IMAP pipe on a socket that imapflow logged in and then handed over (`unbind()`,
// part of its public API).
//
// Why: imapflow 2.10 keeps one command in flight per connection and its `append()`
// accepts only string | Buffer | Uint8Array (the whole message in memory, and copied
// again into the compiled command), and its FETCH collects each BODY[] literal into a
// Buffer. The bulk copy needs neither: a FETCH literal announces its size, which is all
// a LITERAL+ APPEND needs, so bytes flow source socket → target socket in chunks with
// backpressure, many APPENDs in flight. Login, TLS and everything else stay imapflow's
// (src/mail/connection.ts); only the commands imapflow does not do well (or at all: it has
// no public ACL command, see acl.ts) are written here, on this pipe, so that nothing of ours
// reaches into imapflow's private internals (`exec`, `imapflow/lib/*`) that a minor
// release may change. Mailbox names are encoded by mailboxName.ts.
import type { Duplex, Readable } from 'node:stream';
import type { ImapFlow } from 'imapflow';
import { MailStoreError } from './errors.ts';
import { encodeMailboxName, namesAreUtf8 } from './mailboxName.ts';

export class WireClosedError extends MailStoreError {}

/** Writes below this size are combined per event-loop turn; larger ones go at once. */
const COALESCE_BYTES = 64 * 1024;
/** Bytes a wire may hold unsent before a writer waits for the socket to drain. */
const WRITE_BUFFER_BYTES = 1 << 20;
/** Received bytes a wire holds before it pauses its socket (resumed below half of it). */
const READ_BUFFER_BYTES = 1 << 20;

export interface RawWire {
  readonly address: string;
  /** Capabilities as imapflow saw them after login. */
  readonly capabilities: ReadonlySet<string>;
  /** Mailbox names go as UTF-8 (UTF8=ACCEPT or IMAP4rev2), not modified UTF-7. */
  readonly utf8: boolean;
  readLine(): Promise<string>;
  /** Reads exactly n bytes, handing each chunk to `sink` (awaited: backpressure). */
  readBytes(n: number, sink: (chunk: Buffer) => void | Promise<void>): Promise<void>;
  write(data: Buffer | string): Promise<void>;
  nextTag(): string;
  close(): void;
}

/** Takes over a logged-in imapflow session's socket. The ImapFlow object is unusable afterwards. */
export function unbindWire(client: ImapFlow, address: string, timeoutMs: number): RawWire {
  const capabilities = new Set([...client.capabilities.keys()].map((c) => c.toUpperCase()));
  const utf8 = namesAreUtf8(client.enabled, capabilities);
  const { readSocket, writeSocket }: { readSocket: Readable; writeSocket: Duplex } = client.unbind();
  // Received data as a queue of chunks: literals are handed on as the chunks arrived
  // (no copy); only a response line that spans two chunks is joined.
  const chunks: Buffer[] = [];
  let queued = 0;
  let ended: Error | undefined;
  let wake: (() => void) | undefined;
  const wait = (): Promise<void> => new Promise((r) => (wake = r));
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  // Flow control: pause the socket while more than READ_BUFFER_BYTES wait to be read (a batch
  // holds dozens of wires; a smaller buffer slowed a 50 MB message and saved no memory measurably).
  readSocket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    queued += chunk.length;
    if (queued > READ_BUFFER_BYTES) readSocket.pause();
    notify();
  });
  // Writers waiting for 'drain': a socket that dies never drains, so they are failed here
  // (otherwise a kicked connection leaves a promise that nothing will ever settle).
  const drainWaiters = new Set<(err?: Error) => void>();
  const fail = (err: Error): void => {
    ended ??= new WireClosedError('CF_ERR_IMAP_DROPPED', `connection to ${address} dropped: ${err.message}`, {
      object: address,
      cause: err,
    });
    notify();
    for (const w of drainWaiters) w(ended);
    drainWaiters.clear();
  };
  readSocket.on('error', fail);
  readSocket.on('close', () => fail(new Error('closed')));
  readSocket.on('end', () => fail(new Error('closed by server')));
  if (writeSocket !== readSocket) {
    writeSocket.on('error', fail);
    writeSocket.on('close', () => fail(new Error('closed')));
  }
  // The server may have hung up before the hand-over: those events are gone already.
  if (readSocket.destroyed || readSocket.readableEnded || writeSocket.destroyed) fail(new Error('closed before the hand-over'));
  const sock = readSocket as Readable & { setTimeout?: (ms: number, cb: () => void) => void };
  sock.setTimeout?.(timeoutMs, () => readSocket.destroy(new Error(`no answer in ${timeoutMs} ms`)));
  readSocket.resume();
  let tag = 0;

  const consumed = (n: number): void => {
    queued -= n;
    if (queued < READ_BUFFER_BYTES / 2 && readSocket.isPaused()) readSocket.resume();
  };

  // Write combining (see write below): bytes waiting for the next event-loop turn.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  const takePending = (): Buffer | undefined => {
    if (pendingBytes === 0) return undefined;
    const out = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return out;
  };
  const send = (data: Buffer | undefined): Promise<void> => {
    if (data === undefined) return Promise.resolve();
    if (ended) return Promise.reject(ended);
    return new Promise((resolve, reject) => {
      const ok = writeSocket.write(data, (err) => (err ? reject(err) : undefined));
      // Backpressure from WRITE_BUFFER_BYTES on, not from the socket's 16 KiB high-water mark:
      // waiting for 'drain' after every 64 KiB write cost a 50 MB message one event-loop
      // round trip per write (0.9 s for it before).
      if (ok || writeSocket.writableLength < WRITE_BUFFER_BYTES) return resolve();
      const settle = (err?: Error): void => {
        drainWaiters.delete(settle);
        writeSocket.off('drain', onDrain);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = (): void => settle();
      drainWaiters.add(settle);
      writeSocket.once('drain', onDrain);
    });
  };

  return {
    address,
    capabilities,
    utf8,
    nextTag: () => `X${(++tag).toString(36)}`,
    async readLine() {
      for (;;) {
        const first = chunks[0];
        if (first) {
          const i = first.indexOf('\r\n');
          if (i >= 0) {
            const line = first.toString('utf8', 0, i);
            if (i + 2 === first.length) chunks.shift();
            else chunks[0] = first.subarray(i + 2);
            consumed(i + 2);
            return line;
          }
          if (chunks.length > 1) {
            // The line continues in the next chunk: join the two and look again.
            chunks.splice(0, 2, Buffer.concat([first, chunks[1] as Buffer]));
            continue;
          }
          if (first.length > 16 << 20)
            throw new MailStoreError('CF_ERR_IMAP_PROTOCOL', `${address} sent a response line over 16 MiB`, { object: address });
        }
        if (ended) throw ended;
        await wait();
      }
    },
    async readBytes(n, sink) {
      let left = n;
      while (left > 0) {
        const c = chunks[0];
        if (!c) {
          if (ended) throw ended;
          await wait();
          continue;
        }
        let out: Buffer;
        if (c.length <= left) {
          out = c;
          chunks.shift();
        } else {
          out = c.subarray(0, left);
          chunks[0] = c.subarray(left);
        }
        left -= out.length;
        consumed(out.length);
        await sink(out);
      }
    },
    write(data) {
      if (ended) return Promise.reject(ended);
      const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      if (pendingBytes + b.length < COALESCE_BYTES) {
        // Small writes (an APPEND's header, a message of a few KiB) wait here for the next
        // turn of the event loop and go as one socket write: one TLS record and one syscall
        // for many messages instead of three per message (a tenth of a batch's CPU went to
        // writeBuffer/writev before).
        pending.push(b);
        pendingBytes += b.length;
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => {
            scheduled = false;
            void send(takePending()).catch(() => {}); // a failure ends the wire: the next read throws it
          });
        }
        return Promise.resolve();
      }
      const out = pendingBytes ? Buffer.concat([...pending.splice(0), b], pendingBytes + b.length) : b;
      pendingBytes = 0;
      return send(out);
    },
    close() {
      readSocket.destroy();
      if (writeSocket !== readSocket) writeSocket.destroy();
    },
  };
}

/** A mailbox name as an IMAP quoted string (modified UTF-7 unless the session speaks UTF-8). */
export function quoteMailbox(wire: Pick<RawWire, 'utf8'>, path: string): string {
  const encoded = encodeMailboxName(path, wire.utf8);
  if (/[\r\n\0]/.test(encoded))
    throw new MailStoreError('CF_ERR_IMAP_NAME', `folder name ${JSON.stringify(path)} cannot be sent to an IMAP server`, { object: path });
  return quoteString(encoded);
}

/**
 * Any other argument (an ACL identifier, rights) as an IMAP quoted string, as imapflow sends
 * its STRING arguments: only DQUOTE and backslash escaped; CR, LF and NUL cannot be quoted.
 */
export function quoteString(value: string): string {
  if (/[\r\n\0]/.test(value))
    throw new MailStoreError('CF_ERR_IMAP_NAME', `${JSON.stringify(value)} cannot be sent to an IMAP server`, { object: value });
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/** IMAP date-time for APPEND ("dd-Mon-yyyy hh:mm:ss +0000"): the instant is what is kept. */
export function imapDateTime(d: Date): string {
  const M = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `"${p(d.getUTCDate())}-${M[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000"`;
}

/** INTERNALDATE text ("17-Jul-1996 02:44:25 -0700") as an instant, or undefined when it cannot be read. */
export function parseInternalDate(text: string): Date | undefined {
  const m = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (!m) return undefined;
  const month = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].indexOf(
    (m[2] as string).toLowerCase(),
  );
  if (month < 0) return undefined;
  const offset = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  return new Date(utc - offset * 60_000);
}

/** Parses a tagged completion `TAG OK|NO|BAD [CODE …] text`. */
export function parseTagged(line: string): { tag: string; status: string; code: string | undefined; text: string } | undefined {
  const m = /^(\S+) (OK|NO|BAD)(?: \[([^\]]*)\])? ?(.*)$/i.exec(line);
  if (!m || m[1] === '*' || m[1] === '+') return undefined;
  return { tag: m[1] as string, status: (m[2] as string).toUpperCase(), code: m[3], text: m[4] ?? '' };
}

/** A transient server answer worth a retry (RFC 5530 codes, BYE). */
export function isTransientCode(code: string | undefined): boolean {
  return !!code && /^(UNAVAILABLE|LIMIT|INUSE|SERVERBUG|EXPUNGEISSUED)\b/i.test(code);
}
