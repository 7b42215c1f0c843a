// The DATA encoding of RFC 5321 §4.5.2, chunk by chunk: a line that starts with "." gets
// one more, line ends become CRLF, and the end is "CRLF . CRLF". Messages reach the relay's
// client in CRLF already (smtp-server gives the bytes as received, the client's CRLFs
// included), so for them nothing but the stuffing changes. A bare CR or bare LF still
// becomes CRLF: a next hop that read a lone CR or LF as a line end would otherwise see
// "<LF>.<LF>" as the end of the data (SMTP smuggling), and a dot after one is stuffed like
// any other line's.

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const INSERT_LF = Buffer.from('\n');
const INSERT_LF_DOT = Buffer.from('\n.');
const INSERT_CR = Buffer.from('\r');
const INSERT_DOT = Buffer.from('.');

export class DotStuffer {
  /** The last byte fed; undefined before the first (the start of a line). */
  private last: number | undefined;

  /** The chunk as it goes on the wire; `chunk` itself when nothing had to change. */
  feed(chunk: Buffer): Buffer {
    const parts: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      const prev = i > 0 ? chunk[i - 1] : this.last;
      let insert: Buffer | undefined;
      if (prev === CR && byte !== LF) insert = byte === DOT ? INSERT_LF_DOT : INSERT_LF;
      else if (byte === LF && prev !== CR) insert = INSERT_CR;
      else if (byte === DOT && (prev === LF || prev === undefined)) insert = INSERT_DOT;
      if (insert) {
        if (i > from) parts.push(chunk.subarray(from, i));
        parts.push(insert);
        from = i;
      }
    }
    if (chunk.length > 0) this.last = chunk[chunk.length - 1];
    if (parts.length === 0) return chunk;
    if (from < chunk.length) parts.push(chunk.subarray(from));
    return Buffer.concat(parts);
  }

  /** The end of the data: completes the last line (if any) and adds the lone dot. */
  finish(): Buffer {
    if (this.last === LF || this.last === undefined) return Buffer.from('.\r\n');
    if (this.last === CR) return Buffer.from('\n.\r\n');
    return Buffer.from('\r\n.\r\n');
  }
}
