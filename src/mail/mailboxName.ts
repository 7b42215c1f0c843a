// Mailbox names on the wire: modified UTF-7 (RFC 3501 §5.1.3) unless the session speaks
// UTF-8 (UTF8=ACCEPT enabled, RFC 6855, or IMAP4rev2, RFC 9051). The same rule and the same
// codec as imapflow's own (its internal encodePath uses iconv-lite's 'utf-7-imap'), through
// iconv-lite's public API: a folder imapflow created (mailboxCreate) is the folder our raw
// commands name, and no minor imapflow release can move the helper from under us.
import iconv from 'iconv-lite';

/** What imapflow encodes: '&' and anything outside printable ASCII but TAB, LF and CR. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must be encoded
const NEEDS_UTF7 = /[&\x00-\x08\x0b-\x0c\x0e-\x1f\u0080-\uffff]/;

/** Whether the session's mailbox names are UTF-8, from imapflow's view after login. */
export function namesAreUtf8(enabled: ReadonlySet<string>, capabilities: ReadonlySet<string>): boolean {
  const on = new Set([...enabled].map((e) => e.toUpperCase()));
  const caps = new Set([...capabilities].map((c) => c.toUpperCase()));
  return on.has('UTF8=ACCEPT') || on.has('IMAP4REV2') || (caps.has('IMAP4REV2') && !caps.has('IMAP4REV1'));
}

/** A Unicode folder name as the server wants it ('Entwürfe' → 'Entw&APw-rfe'). */
export function encodeMailboxName(name: string, utf8: boolean): string {
  if (utf8 || !NEEDS_UTF7.test(name)) return name;
  return iconv.encode(name, 'utf-7-imap').toString('ascii');
}

/**
 * A name the server sent, back to Unicode ('Entw&APw-rfe' → 'Entwürfe'). A name with 8-bit
 * characters is not modified UTF-7 (a server sending UTF-8 anyway): it is kept as sent.
 */
export function decodeMailboxName(name: string, utf8: boolean): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is all of ASCII
  if (utf8 || !name.includes('&') || /[^\x00-\x7f]/.test(name)) return name;
  return iconv.decode(Buffer.from(name, 'ascii'), 'utf-7-imap');
}
