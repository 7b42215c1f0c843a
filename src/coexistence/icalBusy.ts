// Busy periods from iCalendar data with ical.js (never hand-parsed): VEVENTs expanded
// with their recurrences and exceptions inside the window, and VFREEBUSY periods (what
// an RFC 4791 free-busy-query answers). Transparent, cancelled and "free" events do
// not block time. Floating times (no TZID, no Z) are read as UTC.
import ICAL from 'ical.js';
import { type BusyPeriod, FB_BUSY, FB_OOF, FB_TENTATIVE } from './types.ts';

/** Most occurrences expanded per recurring event (from its DTSTART), whatever its RRULE says: a daily meeting is followed for 136 years, a minutely one for 35 days. */
export const MAX_OCCURRENCES = 50_000;

function parse(text: string): ICAL.Component {
  const jcal = ICAL.parse(text);
  // ICAL.parse returns one component or an array when the text holds several.
  return new ICAL.Component((Array.isArray(jcal[0]) ? jcal[0] : jcal) as unknown as unknown[]);
}

function registerTimezones(cal: ICAL.Component): void {
  for (const vtz of cal.getAllSubcomponents('vtimezone')) {
    const tz = new ICAL.Timezone(vtz);
    if (tz.tzid && !ICAL.TimezoneService.has(tz.tzid)) ICAL.TimezoneService.register(tz);
  }
}

function levelOf(vevent: ICAL.Component): BusyPeriod['level'] | null {
  const status = String(vevent.getFirstPropertyValue('status') ?? '').toUpperCase();
  const transp = String(vevent.getFirstPropertyValue('transp') ?? '').toUpperCase();
  const cdo = String(vevent.getFirstPropertyValue('x-microsoft-cdo-busystatus') ?? '').toUpperCase();
  if (status === 'CANCELLED' || transp === 'TRANSPARENT' || cdo === 'FREE') return null;
  if (cdo === 'OOF') return FB_OOF;
  if (cdo === 'TENTATIVE' || status === 'TENTATIVE') return FB_TENTATIVE;
  return FB_BUSY;
}

function ms(t: ICAL.Time): number {
  return t.toJSDate().getTime();
}

/** Busy periods of every VEVENT in the calendar objects that overlap [start, end). */
export function busyFromEvents(texts: Iterable<string>, start: number, end: number): BusyPeriod[] {
  const out: BusyPeriod[] = [];
  for (const text of texts) {
    const cal = parse(text);
    registerTimezones(cal);
    const vevents = cal.getAllSubcomponents('vevent');
    const masters = vevents.filter((v) => !v.hasProperty('recurrence-id'));
    const exceptions = vevents.filter((v) => v.hasProperty('recurrence-id'));
    for (const master of masters) {
      const event = new ICAL.Event(master);
      for (const ex of exceptions) if (ex.getFirstPropertyValue('uid') === event.uid) event.relateException(ex);
      if (!event.isRecurring()) {
        const level = levelOf(master);
        if (level !== null) push(out, ms(event.startDate), ms(event.endDate), level, start, end);
        continue;
      }
      const it = event.iterator();
      for (let i = 0, next = it.next(); next && i < MAX_OCCURRENCES; i++, next = it.next()) {
        const d = event.getOccurrenceDetails(next);
        const s = ms(d.startDate);
        if (s >= end) break;
        const level = levelOf(d.item.component);
        if (level !== null) push(out, s, ms(d.endDate), level, start, end);
      }
    }
    // An exception whose master we did not get (a moved occurrence stored alone) still blocks time.
    for (const ex of exceptions) {
      if (masters.some((m) => m.getFirstPropertyValue('uid') === ex.getFirstPropertyValue('uid'))) continue;
      const e = new ICAL.Event(ex);
      const level = levelOf(ex);
      if (level !== null) push(out, ms(e.startDate), ms(e.endDate), level, start, end);
    }
  }
  return out;
}

/** Busy periods of a VFREEBUSY answer (RFC 5545 FREEBUSY with FBTYPE). */
export function busyFromFreeBusy(text: string, start: number, end: number): BusyPeriod[] {
  const out: BusyPeriod[] = [];
  const cal = parse(text);
  for (const vfb of cal.getAllSubcomponents('vfreebusy')) {
    for (const prop of vfb.getAllProperties('freebusy')) {
      const type = String(prop.getParameter('fbtype') ?? 'BUSY').toUpperCase();
      if (type === 'FREE') continue;
      const level = type === 'BUSY-TENTATIVE' ? FB_TENTATIVE : type === 'BUSY-UNAVAILABLE' ? FB_OOF : FB_BUSY;
      for (const v of prop.getValues() as ICAL.Period[]) {
        const s = ms(v.start);
        const e = v.end ? ms(v.end) : s + (v.duration ? v.duration.toSeconds() * 1000 : 0);
        push(out, s, e, level, start, end);
      }
    }
  }
  return out;
}

function push(out: BusyPeriod[], s: number, e: number, level: BusyPeriod['level'], start: number, end: number): void {
  if (Number.isFinite(s) && Number.isFinite(e) && e > start && s < end && e > s) out.push({ start: s, end: e, level });
}
