// RFC 2047 encoded words (`=?UTF-8?Q?Abwesenheitsnotiz?=`) decoded to text, for the relay's
// Subject rules and the copy's reports: one decoder, libmime's (mailparser's own). A word in
// a charset libmime cannot decode is left as it is: libmime alone would read its bytes as
// UTF-8, and a report or a rule should see the word rather than a guess. Broken words never
// throw; detection and reports read them as plain text.
import libmime from 'libmime';

// What libmime's decodeWords takes for a word when it drops whitespace between words; the
// capture group makes split() return them at the odd indexes, the text between at the even.
const WORD = /(=\?[^?\s]+\?[QqBb]\?[^?]*\?=)/;

/** Whether libmime decodes this word itself, rather than skipping it or reading it as UTF-8. */
function decodable(word: string): boolean {
  const charset = word.slice(2, word.indexOf('?', 2));
  // The charsets decodeWords decodes at all; an RFC 2231 language tag (`UTF-8*en`) it ignores.
  if (!/^[\w\-*]+$/.test(charset)) return false;
  const probe = libmime.createDecodeStream(charset.split('*')[0]);
  probe.destroy();
  return probe.supported;
}

function decodeRun(text: string): string {
  try {
    return libmime.decodeWords(text);
  } catch {
    // Not expected of libmime; but a header from anywhere must never fail detection or a report.
    return text;
  }
}

/**
 * The value with its encoded words decoded. Whitespace between adjacent decodable words is
 * dropped (RFC 2047 §6.2; libmime also joins a character split across two words); a word
 * in an unknown charset stays, with the whitespace around it, as text.
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  let out = '';
  let run = '';
  value.split(WORD).forEach((part, i) => {
    if (i % 2 === 1 && !decodable(part)) {
      out += decodeRun(run) + part;
      run = '';
    } else run += part;
  });
  return out + decodeRun(run);
}
