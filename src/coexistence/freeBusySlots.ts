// The seed's fbdata string: one digit per interval slot of the window (0 free,
// 1 tentative, 2 busy, 3 OOF, 4 no data); the strongest period touching a slot wins.
import { type BusyPeriod, FB_NO_DATA, type FreeBusyWindow } from './types.ts';

export function slotCount(w: FreeBusyWindow): number {
  return Math.ceil((w.end - w.start) / (w.intervalMinutes * 60_000));
}

export function toFbData(periods: Iterable<BusyPeriod>, w: FreeBusyWindow): string {
  const n = slotCount(w);
  const step = w.intervalMinutes * 60_000;
  const slots = new Uint8Array(n);
  for (const p of periods) {
    if (p.end <= w.start || p.start >= w.end || p.end <= p.start) continue;
    const first = Math.max(0, Math.floor((p.start - w.start) / step));
    // Half-open: a meeting ending exactly at a slot boundary does not touch the next slot.
    const last = Math.min(n - 1, Math.ceil((p.end - w.start) / step) - 1);
    for (let i = first; i <= last; i++) if ((slots[i] ?? 0) < p.level) slots[i] = p.level;
  }
  return Array.from(slots, String).join('');
}

export function noData(w: FreeBusyWindow): string {
  return String(FB_NO_DATA).repeat(slotCount(w));
}
