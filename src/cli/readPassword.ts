// A password for the CLI, never from argv (it would sit in the shell history and in `ps`):
// typed at a terminal without echo (asked twice), or the first line of standard input
// when that is a pipe or a file (`crossforest serve hash-password < pw.txt`).
import { CrossforestError } from '../util/errors.ts';

export class PasswordInputError extends CrossforestError {
  constructor(message: string, hint: string) {
    super('CF_ERR_PASSWORD_INPUT', message, { hint });
  }
}

/** Reads one line from a terminal in raw mode: nothing is echoed; Backspace, Ctrl-U and Ctrl-C work. */
export function promptHidden(
  prompt: string,
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  // Echo off before the prompt shows: what is typed as soon as it appears is never echoed.
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  output.write(prompt);
  return new Promise((resolve, reject) => {
    let typed: string[] = [];
    let inEscape = false;
    const finish = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (inEscape) {
          // An escape sequence (arrow keys …) ends with a letter or ~: none of it is the password.
          if (/[A-Za-z~]/.test(ch)) inEscape = false;
          continue;
        }
        if (ch === '\r' || ch === '\n') {
          finish();
          return resolve(typed.join(''));
        }
        if (ch === '\u0003' || (ch === '\u0004' && typed.length === 0)) {
          finish();
          return reject(new PasswordInputError('no password: input cancelled', 'type the password and press Enter'));
        }
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch === '\u0015') typed = [];
        else if (ch === '\u001b') inEscape = true;
        else if (ch >= ' ') typed.push(ch);
      }
    };
    input.on('data', onData);
  });
}

/** The first line of a stream (a trailing CR is dropped), at most `maxBytes` read. */
export async function firstLine(input: NodeJS.ReadableStream, maxBytes = 64 * 1024): Promise<string> {
  let text = '';
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    const nl = text.indexOf('\n');
    if (nl >= 0) return text.slice(0, nl).replace(/\r$/, '');
    if (text.length > maxBytes) break;
  }
  return text.replace(/\r$/, '');
}

/** A new password: asked twice at a terminal, else read from standard input. */
export async function readNewPassword(what: string): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    const first = await promptHidden(`${what}: `);
    const again = await promptHidden(`${what} again: `);
    if (first !== again) throw new PasswordInputError('the two passwords differ', 'run the command again and type the same password twice');
    return first;
  }
  return firstLine(stdin);
}
