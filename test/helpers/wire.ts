// Raw IMAP in tests, the way src does it (src/mail/wire.ts): a logged-in imapflow session is
// handed over to a wire, commands imapflow has no method for run on it, and it is closed.
import type { ImapFlow } from 'imapflow';
import type { Token } from '../../src/mail/imapTokens.ts';
import { runCommand } from '../../src/mail/rawCommand.ts';
import { type RawWire, unbindWire } from '../../src/mail/wire.ts';

/** Runs `fn` on the session's socket; the ImapFlow object is unusable afterwards. */
export async function onWire<T>(c: ImapFlow, fn: (w: RawWire) => Promise<T>): Promise<T> {
  const w = unbindWire(c, 'test session', 15_000);
  try {
    return await fn(w);
  } finally {
    w.close();
  }
}

/** One raw command (arguments already quoted); each `* <untagged> …` response as its tokens. */
export const rawCommand = (w: RawWire, command: string, untagged: string): Promise<Token[][]> =>
  runCommand(w, command, { untagged, action: command, object: 'test session' });
