// Pipelined APPEND on a raw wire: with LITERAL+ (RFC 7888) each APPEND is written with
// `{size+}` and its bytes follow at once, up to `depth` commands in flight, answers read
// by one loop. Without LITERAL+ each literal waits for the server's "+" (one round trip
// more per message, still streamed). MULTIAPPEND is not used on purpose: one refused
// message fails the whole MULTIAPPEND, and a bad item must cost only itself.
import { MailStoreError } from './errors.ts';
import { imapDateTime, isTransientCode, parseTagged, quoteMailbox, type RawWire } from './wire.ts';

export interface AppendResult {
  ok: boolean;
  /** Target UID from [APPENDUID validity uid] (UIDPLUS). */
  uid: number | undefined;
  uidValidity: string | undefined;
  text: string;
  transient: boolean;
}

interface Pending {
  tag: string;
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
}

export interface Appender {
  /**
   * Sends one APPEND; `body` streams exactly `size` bytes through `send`. Resolves once
   * the bytes are written (a slot is free) with a promise of the server's answer (wrapped:
   * a bare promise would be flattened by `await`).
   */
  append(flags: readonly string[], internalDate: Date | undefined, size: number, body: (send: (chunk: Buffer) => Promise<void>) => Promise<void>): Promise<{ answer: Promise<AppendResult> }>;
  /** Waits for every answer. */
  drain(): Promise<void>;
  /** Stops the reader (the wire stays open for the next folder). */
  stop(): void;
}

export function createAppender(wire: RawWire, mailbox: string, depth: number): Appender {
  const quoted = quoteMailbox(wire, mailbox);
  const literalPlus = wire.capabilities.has('LITERAL+');
  const pending: Pending[] = [];
  const inFlight = new Set<Promise<AppendResult>>();
  let continuation: { resolve: () => void; reject: (e: Error) => void } | undefined;
  let broken: Error | undefined;
  let stopped = false;
  let slotWaiters: (() => void)[] = [];

  const failAll = (err: Error): void => {
    broken ??= err;
    for (const p of pending.splice(0)) p.reject(err);
    continuation?.reject(err);
    continuation = undefined;
    for (const w of slotWaiters.splice(0)) w();
  };

  let readerRunning = false;
  const reader = async (): Promise<void> => {
    readerRunning = true;
    try {
      while (pending.length > 0 && !stopped) {
        const line = await wire.readLine();
        if (line.startsWith('+')) {
          continuation?.resolve();
          continuation = undefined;
          continue;
        }
        if (/^\* BYE/i.test(line)) throw new MailStoreError('CF_ERR_IMAP_DROPPED', `${wire.address} said BYE: ${line}`, { imapResponse: 'BYE' });
        const lit = /\{(\d+)\}$/.exec(line);
        if (lit) await wire.readBytes(Number(lit[1]), () => {});
        const t = parseTagged(line);
        if (!t) continue;
        const i = pending.findIndex((p) => p.tag === t.tag);
        if (i < 0) continue;
        const [p] = pending.splice(i, 1);
        const au = t.code ? /^APPENDUID (\d+) (\d+)/i.exec(t.code) : null;
        p?.resolve({
          ok: t.status === 'OK',
          uid: au ? Number(au[2]) : undefined,
          uidValidity: au ? (au[1] as string) : undefined,
          text: t.code ? `[${t.code}] ${t.text}` : t.text,
          transient: isTransientCode(t.code),
        });
        const w = slotWaiters.shift();
        w?.();
      }
    } catch (err) {
      failAll(err as Error);
    } finally {
      readerRunning = false;
    }
  };

  return {
    async append(flags, internalDate, size, body) {
      while (!broken && pending.length >= depth) await new Promise<void>((r) => slotWaiters.push(r));
      if (broken) throw broken;
      const tag = wire.nextTag();
      const result = new Promise<AppendResult>((resolve, reject) => pending.push({ tag, resolve, reject }));
      result.catch(() => {});
      const tracked = result.finally(() => inFlight.delete(tracked));
      tracked.catch(() => {});
      inFlight.add(tracked);
      const flagList = flags.length ? ` (${flags.join(' ')})` : '';
      const date = internalDate ? ` ${imapDateTime(internalDate)}` : '';
      if (!readerRunning) void reader();
      if (literalPlus) {
        await wire.write(`${tag} APPEND ${quoted}${flagList}${date} {${size}+}\r\n`);
      } else {
        const go = new Promise<void>((resolve, reject) => (continuation = { resolve, reject }));
        await wire.write(`${tag} APPEND ${quoted}${flagList}${date} {${size}}\r\n`);
        await go;
      }
      let sent = 0;
      await body(async (chunk) => {
        sent += chunk.length;
        await wire.write(chunk);
      });
      if (sent !== size) throw new MailStoreError('CF_ERR_IMAP_PROTOCOL', `sent ${sent} bytes for a ${size}-byte literal to ${mailbox}`, { object: mailbox });
      await wire.write('\r\n');
      if (!literalPlus && !readerRunning) void reader();
      return { answer: tracked };
    },
    async drain() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      if (broken) throw broken;
    },
    stop() {
      stopped = true;
      slotWaiters = [];
    },
  };
}
