// ETA against the batch window (pure): the recent copy rate from the runner's one-a-second
// samples, the time the remaining messages take at that rate, and whether that is before
// the window closes. Recent = the last minute, so a stalled batch shows a rate of 0 and no
// ETA instead of an average that hides the stall.
import type { EtaView } from './types.ts';

export const RECENT_MS = 60_000;

export interface Sample {
  at: string;
  messages: number;
  bytes: number;
}

export function recentRate(
  samples: readonly Sample[],
  now: number,
  spanMs = RECENT_MS,
): { messagesPerSecond: number; bytesPerSecond: number } {
  let messages = 0;
  let bytes = 0;
  let first = Number.POSITIVE_INFINITY;
  for (const s of samples) {
    const t = Date.parse(s.at);
    if (!Number.isFinite(t) || t > now || t <= now - spanMs) continue;
    messages += Math.max(0, s.messages);
    bytes += Math.max(0, s.bytes);
    if (t < first) first = t;
  }
  if (messages === 0 && bytes === 0) return { messagesPerSecond: 0, bytesPerSecond: 0 };
  // A batch that started copying 10 s ago is measured over those 10 s (each sample covers
  // the second before it), not diluted over a whole minute.
  const secs = Math.max(1, Math.min(spanMs, now - first + 1000) / 1000);
  return { messagesPerSecond: messages / secs, bytesPerSecond: bytes / secs };
}

export function eta(samples: readonly Sample[], remainingMessages: number, windowStop: string | null, now: number): EtaView {
  const rate = recentRate(samples, now);
  const remaining = Math.max(0, remainingMessages);
  const seconds = remaining > 0 && rate.messagesPerSecond > 0 ? remaining / rate.messagesPerSecond : remaining === 0 ? 0 : null;
  const finishes = seconds === null ? null : now + seconds * 1000;
  const stop = windowStop ? Date.parse(windowStop) : Number.NaN;
  return {
    messagesPerSecond: round(rate.messagesPerSecond, 1),
    bytesPerSecond: Math.round(rate.bytesPerSecond),
    remainingMessages: remaining,
    seconds: seconds === null ? null : Math.round(seconds),
    finishesAt: finishes === null ? null : new Date(finishes).toISOString(),
    fitsWindow: finishes === null || Number.isNaN(stop) ? null : finishes <= stop,
  };
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;
