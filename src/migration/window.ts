// The batch window (pure): before it opens nothing starts; after it closes nothing new
// starts. A batch without a window is always open.
import type { BatchOptions } from './types.ts';

export interface WindowState {
  state: 'before' | 'open' | 'after';
  /** Milliseconds until the state changes (Infinity when it never will). */
  msUntilChange: number;
}

export function windowState(o: Pick<BatchOptions, 'windowStart' | 'windowStop'>, now: Date): WindowState {
  const t = now.getTime();
  const start = o.windowStart ? Date.parse(o.windowStart) : Number.NEGATIVE_INFINITY;
  const stop = o.windowStop ? Date.parse(o.windowStop) : Number.POSITIVE_INFINITY;
  if (t < start) return { state: 'before', msUntilChange: start - t };
  if (t >= stop) return { state: 'after', msUntilChange: Number.POSITIVE_INFINITY };
  return { state: 'open', msUntilChange: stop - t };
}

/**
 * Parses a window bound: an ISO instant, or HH:MM meaning the next such local time
 * (for the stop: the next HH:MM after the start). Undefined when it is neither.
 */
export function parseWindowTime(text: string, after: Date): string | undefined {
  const hm = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (hm) {
    const h = Number(hm[1]);
    const m = Number(hm[2]);
    if (h > 23 || m > 59) return undefined;
    const d = new Date(after);
    d.setHours(h, m, 0, 0);
    if (d.getTime() <= after.getTime()) d.setDate(d.getDate() + 1);
    return d.toISOString();
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text.trim())) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** An ISO time as people read it in notices and reports: `2026-11-28 22:00 UTC` (pure). */
export function utcMinute(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}
