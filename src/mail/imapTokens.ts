// Tokens of one IMAP response (RFC 3501 §4 / RFC 9051 §4): atoms, quoted strings, literals
// and parenthesized lists, for the few responses we read ourselves (ACL, and LIST/STATUS in
// tests). A response arrives as text runs with a literal after each run that ends in `{n}`
// (rawCommand.ts reads them off the wire): `* ACL {5}` CRLF `INBOX` ` bob lr` is
// text ['* ACL {5}', ' bob lr'] and literals [INBOX].
//
// Atoms, quoted strings and literals all become strings (an astring is an astring; NIL is
// the atom "NIL"); a list becomes an array. Malformed input (an open quote, an unbalanced
// parenthesis, a literal announced but missing) is a CF_ERR_IMAP_PROTOCOL error, never a
// guess.
import { MailStoreError } from './errors.ts';

export type Token = string | Token[];

export interface ResponseParts {
  /** The response's lines, CRLF removed; every one but the last ends in a literal's `{n}`. */
  text: string[];
  /** literals[i] follows text[i]. */
  literals: Buffer[];
}

const LITERAL_AT_END = /~?\{(\d+)\+?\}$/;

export function tokenize(parts: ResponseParts, from = 'the server'): Token[] {
  const bad = (why: string): MailStoreError =>
    new MailStoreError('CF_ERR_IMAP_PROTOCOL', `${from} sent a malformed response (${why}): ${parts.text.join('{…}').slice(0, 200)}`, {
      object: from,
    });
  if (parts.text.length !== parts.literals.length + 1) throw bad('literal count');
  const root: Token[] = [];
  const stack: Token[][] = [root];
  for (let seg = 0; seg < parts.text.length; seg++) {
    const line = parts.text[seg] as string;
    const literal = seg < parts.literals.length ? (parts.literals[seg] as Buffer) : undefined;
    const lit = literal ? LITERAL_AT_END.exec(line) : null;
    if (literal && (!lit || Number(lit[1]) !== literal.length)) throw bad('literal size');
    const end = lit ? lit.index : line.length;
    const top = (): Token[] => stack[stack.length - 1] as Token[];
    let i = 0;
    while (i < end) {
      const c = line[i];
      if (c === ' ') {
        i++;
      } else if (c === '(') {
        const list: Token[] = [];
        top().push(list);
        stack.push(list);
        i++;
      } else if (c === ')') {
        if (stack.length === 1) throw bad('unbalanced ")"');
        stack.pop();
        i++;
      } else if (c === '"') {
        let out = '';
        let j = i + 1;
        for (; j < end && line[j] !== '"'; j++) {
          if (line[j] === '\\') j++;
          if (j < end) out += line[j];
        }
        if (j >= end) throw bad('unterminated quoted string');
        top().push(out);
        i = j + 1;
      } else {
        let j = i;
        while (j < end && !' ()"'.includes(line[j] as string)) j++;
        top().push(line.slice(i, j));
        i = j;
      }
    }
    if (literal) top().push(literal.toString('utf8'));
  }
  if (stack.length !== 1) throw bad('unbalanced "("');
  return root;
}
