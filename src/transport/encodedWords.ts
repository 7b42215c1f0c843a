// RFC 2047 encoded words (`=?UTF-8?Q?Abwesenheitsnotiz?=`), decoded for the Subject
// rules only. Unknown charsets and broken words are left as they are: detection reads
// them as plain text, it never fails on them.
const WORD = /=\?([^?\s]{1,40})\?([bqBQ])\?([^?\s]*)\?=/g;

export function decodeEncodedWords(value: string): string {
  // Whitespace between two adjacent encoded words is not part of the text (RFC 2047 §6.2).
  const joined = value.replace(/(=\?[^?\s]+\?[bqBQ]\?[^?\s]*\?=)\s+(?==\?)/g, '$1');
  return joined.replace(WORD, (whole, charset: string, enc: string, text: string) => {
    try {
      const bytes =
        enc.toLowerCase() === 'b'
          ? Buffer.from(text, 'base64')
          : Buffer.from(
              text.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
              'latin1',
            );
      return new TextDecoder(charset.split('*')[0]!.toLowerCase(), { fatal: false }).decode(bytes);
    } catch {
      return whole;
    }
  });
}
