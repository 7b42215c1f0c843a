// Retries with exponential back-off for what a server or network does transiently:
// dropped connections, timeouts, BYE, NO [UNAVAILABLE]/[LIMIT]/[INUSE]/[SERVERBUG], a
// login cut short (a restarting server, a crashed login process).
import { MailStoreError } from './errors.ts';
import { WireClosedError } from './wire.ts';

export class CopyLimitError extends MailStoreError {}
/** Server-side transient trouble inside a folder: the caller reconnects and retries. */
export class TransientFolderError extends MailStoreError {}

export function isTransient(err: unknown): boolean {
  if (err instanceof CopyLimitError) return false;
  if (err instanceof WireClosedError || err instanceof TransientFolderError) return true;
  const e = err as { code?: string; serverResponseCode?: string; message?: string; imapResponse?: string; cause?: unknown };
  if (
    e.code &&
    /^(CF_ERR_IMAP_UNREACHABLE|CF_ERR_IMAP_DROPPED|CF_ERR_IMAP_TRANSIENT|NoConnection|EConnectionClosed|ECONNRESET|EPIPE|ETIMEDOUT|ECONNREFUSED|CONNECT_TIMEOUT|ETIMEOUT|GREETING_TIMEOUT)$/.test(
      e.code,
    )
  )
    return true;
  if (e.serverResponseCode && /^(UNAVAILABLE|LIMIT|INUSE|SERVERBUG)$/i.test(e.serverResponseCode)) return true;
  if (
    /\b(BYE|UNAVAILABLE|unexpected close|connection (closed|dropped|not available|reset)|socket (hang up|closed)|timed? ?out)\b/i.test(
      `${e.message ?? ''} ${e.imapResponse ?? ''}`,
    )
  )
    return true;
  return e.cause !== undefined && e.cause !== err && isTransient(e.cause);
}

export async function withRetries<T>(
  what: (attempt: number) => Promise<T>,
  policy: { retries: number; retryIntervalMs: number },
  onRetry: (err: unknown, attempt: number, waitMs: number) => void | Promise<void>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await what(attempt);
    } catch (err) {
      if (!isTransient(err) || attempt >= policy.retries) throw err;
      const wait = policy.retryIntervalMs * 2 ** attempt;
      await onRetry(err, attempt + 1, wait);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
