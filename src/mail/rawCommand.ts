// One IMAP command on a raw wire (wire.ts) and its answer: for the commands imapflow has no
// public method for (GETACL, SETACL, DELETEACL: acl.ts). The untagged responses the caller
// asks for come back as tokens (imapTokens.ts); every other response is read past, its
// literals drained. A NO or BAD is mapped like any imapflow failure (toMailStoreError), so
// the messages and the transient/permanent decision are those of the imapflow days.
import { MailStoreError, toMailStoreError } from './errors.ts';
import { type ResponseParts, type Token, tokenize } from './imapTokens.ts';
import { parseTagged, type RawWire } from './wire.ts';

/** A kept response's literals in all: ACL, LIST and STATUS answers are small. */
const MAX_KEPT_LITERAL_BYTES = 1 << 20;
const LITERAL_AT_END = /~?\{(\d+)\+?\}$/;

/**
 * Reads the rest of a response whose first line is `first`: each line that ends in `{n}` is
 * followed by n bytes and another line. Kept (`keep`) literals are collected; others drained.
 */
export async function readResponse(wire: RawWire, first: string, keep: boolean): Promise<ResponseParts> {
  const parts: ResponseParts = { text: [first], literals: [] };
  let kept = 0;
  for (let m = LITERAL_AT_END.exec(first); m; m = LITERAL_AT_END.exec(parts.text[parts.text.length - 1] as string)) {
    const size = Number(m[1]);
    const chunks: Buffer[] = [];
    kept += keep ? size : 0;
    if (kept > MAX_KEPT_LITERAL_BYTES)
      throw new MailStoreError('CF_ERR_IMAP_PROTOCOL', `${wire.address} sent a response with literals over 1 MiB: ${first.slice(0, 200)}`, {
        object: wire.address,
      });
    await wire.readBytes(size, (c) => void (keep && chunks.push(c)));
    parts.literals.push(keep ? Buffer.concat(chunks, size) : Buffer.alloc(0));
    parts.text.push(await wire.readLine());
  }
  return parts;
}

export interface CommandOptions {
  /** The untagged response to collect (`ACL` for `* ACL …`). */
  untagged?: string;
  /** For messages: "read the ACL of Sent". */
  action: string;
  /** What the command is about (a folder), for messages and the error's `object`. */
  object: string;
}

/**
 * Sends `command` (without tag and CRLF; arguments already quoted) and waits for its tagged
 * answer. Returns each collected untagged response as its tokens after `* NAME`.
 */
export async function runCommand(wire: RawWire, command: string, opts: CommandOptions): Promise<Token[][]> {
  const tag = wire.nextTag();
  await wire.write(`${tag} ${command}\r\n`);
  const wanted = opts.untagged?.toUpperCase();
  const out: Token[][] = [];
  for (;;) {
    const line = await wire.readLine();
    const t = parseTagged(line);
    if (t?.tag === tag) {
      if (t.status === 'OK') return out;
      // Shaped like imapflow's command error, so that the mapping and isTransient read it alike.
      const text = t.code ? `[${t.code}] ${t.text}` : t.text;
      const failed = Object.assign(new Error(`Command failed: ${t.status} ${text}`), {
        responseStatus: t.status,
        responseText: text,
        serverResponseCode: t.code?.split(' ')[0],
      });
      throw toMailStoreError(failed, opts.action, opts.object);
    }
    if (/^\* BYE\b/i.test(line))
      throw new MailStoreError('CF_ERR_IMAP_DROPPED', `${wire.address} said BYE: ${line}`, { object: opts.object, imapResponse: 'BYE' });
    const name = /^\* ([A-Za-z0-9.=-]+)/.exec(line)?.[1]?.toUpperCase();
    const keep = wanted !== undefined && name === wanted;
    const parts = await readResponse(wire, line, keep);
    if (keep) out.push(tokenize(parts, wire.address).slice(2));
  }
}
