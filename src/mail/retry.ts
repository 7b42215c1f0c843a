// Retries with exponential back-off (jittered, capped) for what a server or network does transiently:
// dropped connections, timeouts, BYE, NO [UNAVAILABLE]/[LIMIT]/[INUSE]/[SERVERBUG], a
// login cut short (a restarting server, a crashed login process).
import { setTimeout as sleep } from 'node:timers/promises';
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

export interface RetryPolicy {
  retries: number;
  /** The first wait; it doubles per retry. */
  retryIntervalMs: number;
  /** No wait is longer than this. Default 60 s. */
  maxRetryIntervalMs?: number;
}

const MAX_RETRY_INTERVAL_MS = 60_000;

/**
 * The wait before retry `attempt` (1-based): retryIntervalMs doubled per retry, times a random
 * 1 to 2 so that the workers a server restart dropped together do not come back together,
 * capped so that a long run of retries does not wait for hours.
 */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = policy.retryIntervalMs * 2 ** (attempt - 1) * (1 + random());
  return Math.round(Math.min(exponential, policy.maxRetryIntervalMs ?? MAX_RETRY_INTERVAL_MS));
}

/**
 * Runs `what` until it succeeds, retrying what isTransient calls transient, at most
 * policy.retries times. onRetry hears of each retry with its wait before the wait (the copy
 * reconnects there and logs the wait). Hand-written rather than p-retry 7 (which runs on
 * Node 20): p-retry's callbacks are not told the wait it picks, and onFailedAttempt also
 * runs for the failure that is not retried.
 */
export async function withRetries<T>(
  what: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  onRetry: (err: unknown, attempt: number, waitMs: number) => void | Promise<void>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await what(attempt);
    } catch (err) {
      if (!isTransient(err) || attempt >= policy.retries) throw err;
      const wait = backoffMs(attempt + 1, policy);
      await onRetry(err, attempt + 1, wait);
      await sleep(wait);
    }
  }
}
