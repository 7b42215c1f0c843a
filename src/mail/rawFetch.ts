// Streams message bodies out of the selected source folder: `UID FETCH set (UID BODY.PEEK[])`
// on a raw wire. Each message is handed over as (uid, size, chunk iterator) while its
// literal is still arriving: nothing holds a whole message. PEEK: the copy never marks
// source mail \Seen.
import { MailStoreError } from './errors.ts';
import { isTransientCode, parseTagged, quoteMailbox, type RawWire } from './wire.ts';

export interface SelectedFolder {
  uidValidity: string;
  exists: number;
}

/** EXAMINE (read-only SELECT) on the raw wire. */
export async function examine(wire: RawWire, path: string): Promise<SelectedFolder> {
  const tag = wire.nextTag();
  await wire.write(`${tag} EXAMINE ${quoteMailbox(wire, path)}\r\n`);
  let uidValidity = '';
  let exists = 0;
  for (;;) {
    const line = await wire.readLine();
    const t = parseTagged(line);
    if (t?.tag === tag) {
      if (t.status !== 'OK')
        throw new MailStoreError('CF_ERR_IMAP', `cannot open ${path} on ${wire.address}: ${t.text}`, {
          object: path,
          imapResponse: t.code ?? t.text,
        });
      return { uidValidity, exists };
    }
    const v = /\[UIDVALIDITY (\d+)\]/i.exec(line);
    if (v) uidValidity = v[1] as string;
    const e = /^\* (\d+) EXISTS/i.exec(line);
    if (e) exists = Number(e[1]);
    if (/^\* BYE/i.test(line))
      throw new MailStoreError('CF_ERR_IMAP_DROPPED', `${wire.address} said BYE: ${line}`, { object: path, imapResponse: 'BYE' });
  }
}

/** One message of a folder listing: what the copy needs to decide, before any body is read. */
export interface ListedMessage {
  uid: number;
  flags: string[];
  size: number;
  /**
   * INTERNALDATE exactly as the server wrote it ("17-Jul-1996 02:44:25 -0700"): passed on
   * verbatim to APPEND, so a target that keeps the zone offset gets the source's (a Date keeps
   * only the instant).
   */
  internalDate: string | undefined;
}

/**
 * `UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)` on the folder selected on `wire`, or
 * with `changedSince` only UID and FLAGS of what changed after that modseq (RFC 7162).
 * Written here rather than with imapflow's fetch: its parser built a full object per message
 * and was the copy's largest CPU cost on a 20,000-message batch, and it turns INTERNALDATE
 * into a Date (the zone offset lost).
 */
export async function listMessages(wire: RawWire, path: string, changedSince?: bigint): Promise<ListedMessage[]> {
  const tag = wire.nextTag();
  const items = changedSince ? '(UID FLAGS) (CHANGEDSINCE ' + changedSince.toString() + ')' : '(UID FLAGS RFC822.SIZE INTERNALDATE)';
  await wire.write(`${tag} UID FETCH 1:* ${items}\r\n`);
  const out: ListedMessage[] = [];
  for (;;) {
    const line = await wire.readLine();
    const t = parseTagged(line);
    if (t?.tag === tag) {
      if (t.status !== 'OK')
        throw new MailStoreError(
          isTransientCode(t.code) ? 'CF_ERR_IMAP_TRANSIENT' : 'CF_ERR_IMAP',
          `cannot list ${path} on ${wire.address}: ${t.text}`,
          {
            object: path,
            imapResponse: t.code ?? t.text,
          },
        );
      return out;
    }
    if (/^\* BYE/i.test(line))
      throw new MailStoreError('CF_ERR_IMAP_DROPPED', `${wire.address} said BYE: ${line}`, { object: path, imapResponse: 'BYE' });
    const lit = /\{(\d+)\+?\}$/.exec(line);
    if (lit) {
      // Not asked for (no item of this FETCH is a literal): drained, and the line skipped.
      await wire.readBytes(Number(lit[1]), () => {});
      await wire.readLine();
      continue;
    }
    if (!/^\* \d+ FETCH \(/i.test(line)) continue;
    const uid = /[( ]UID (\d+)/i.exec(line);
    if (!uid) continue;
    const flags = /[( ]FLAGS \(([^)]*)\)/i.exec(line);
    const size = /[( ]RFC822\.SIZE (\d+)/i.exec(line);
    const date = /[( ]INTERNALDATE "([^"]+)"/i.exec(line);
    out.push({
      uid: Number(uid[1]),
      flags: flags?.[1] ? flags[1].split(' ').filter((f) => f !== '' && f.toLowerCase() !== '\\recent') : [],
      size: size ? Number(size[1]) : 0,
      internalDate: date?.[1],
    });
  }
}

export interface FetchedBody {
  uid: number;
  size: number;
  /** Consumes the literal chunk by chunk; must be called exactly once. */
  pipe(sink: (chunk: Buffer) => void | Promise<void>): Promise<void>;
}

/** Outcome of one FETCH command: the server's words if it did not finish with OK. */
export interface FetchEnd {
  ok: boolean;
  transient: boolean;
  text: string;
}

/**
 * Fetches `uids` (a UID set string "1:5,9") and calls `onMessage` for each body as it
 * arrives; the next one is read only after onMessage has piped the body and returned.
 * Messages the server does not deliver are simply absent: the caller compares.
 */
export async function fetchBodies(wire: RawWire, uids: string, onMessage: (m: FetchedBody) => Promise<void>): Promise<FetchEnd> {
  const tag = wire.nextTag();
  await wire.write(`${tag} UID FETCH ${uids} (UID BODY.PEEK[])\r\n`);
  for (;;) {
    let line = await wire.readLine();
    const t = parseTagged(line);
    if (t?.tag === tag)
      return { ok: t.status === 'OK', transient: isTransientCode(t.code), text: t.code ? `[${t.code}] ${t.text}` : t.text };
    if (/^\* BYE/i.test(line))
      throw new MailStoreError('CF_ERR_IMAP_DROPPED', `${wire.address} said BYE: ${line}`, { imapResponse: 'BYE' });
    // Any response may carry literals; only BODY[] of a FETCH is kept, the others are drained.
    while (true) {
      const lit = /~?\{(\d+)\+?\}$/.exec(line);
      if (!lit) break;
      const size = Number(lit[1]);
      const head = line;
      const uidM = /\bUID (\d+)/i.exec(head);
      if (/^\* \d+ FETCH /i.test(head) && /BODY\[\] ~?\{\d+\}$/i.test(head) && uidM) {
        let piped = false;
        await onMessage({
          uid: Number(uidM[1]),
          size,
          pipe: async (sink) => {
            piped = true;
            await wire.readBytes(size, sink);
          },
        });
        if (!piped) await wire.readBytes(size, () => {});
      } else {
        await wire.readBytes(size, () => {});
      }
      // The rest of the response after the literal, e.g. ")" or " FLAGS (\Seen))".
      line = `${head.slice(0, lit.index)}…${await wire.readLine()}`;
    }
  }
}
