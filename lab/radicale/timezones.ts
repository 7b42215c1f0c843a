// The named time zones of the lab's events, each with the VTIMEZONE that must travel
// with any event using its TZID (RFC 5545 §3.6.5): the EU and North American daylight
// saving rules as they stand since 2007, fixed offsets for Tokyo and São Paulo.
import { line } from './icalText.ts';

interface Rule {
  name: string;
  offset: string;
  /** DTSTART (1970, local time) and RRULE of the change into this observance; absent: fixed offset. */
  start?: string;
  rrule?: string;
}

interface Zone {
  standard: Rule;
  daylight?: Rule;
}

const eu = (std: string, dst: string): Zone => ({
  standard: { name: std, offset: '+0100', start: '19701025T030000', rrule: 'FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU' },
  daylight: { name: dst, offset: '+0200', start: '19700329T020000', rrule: 'FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU' },
});
const na = (std: string, dst: string, offset: string, dstOffset: string): Zone => ({
  standard: { name: std, offset, start: '19701101T020000', rrule: 'FREQ=YEARLY;BYMONTH=11;BYDAY=1SU' },
  daylight: { name: dst, offset: dstOffset, start: '19700308T020000', rrule: 'FREQ=YEARLY;BYMONTH=3;BYDAY=2SU' },
});

export const ZONES = {
  'Europe/Berlin': eu('CET', 'CEST'),
  'Europe/Warsaw': eu('CET', 'CEST'),
  'Europe/Zurich': eu('CET', 'CEST'),
  'America/New_York': na('EST', 'EDT', '-0500', '-0400'),
  'America/Toronto': na('EST', 'EDT', '-0500', '-0400'),
  'America/Sao_Paulo': { standard: { name: '-03', offset: '-0300' } },
  'Asia/Tokyo': { standard: { name: 'JST', offset: '+0900' } },
} satisfies Record<string, Zone>;

export type TzId = keyof typeof ZONES;

/** The time zone of each lab site (lab/org/names.ts SITES). */
export const SITE_ZONES: Record<string, TzId> = {
  Atlanta: 'America/New_York',
  Berlin: 'Europe/Berlin',
  'São Paulo': 'America/Sao_Paulo',
  Kraków: 'Europe/Warsaw',
  Zürich: 'Europe/Zurich',
  Tokyo: 'Asia/Tokyo',
  Montréal: 'America/Toronto',
};

/** The VTIMEZONE component of `tzid` as content lines. */
export function vtimezone(tzid: TzId): string[] {
  const zone: Zone = ZONES[tzid];
  const out = ['BEGIN:VTIMEZONE', line('TZID', tzid)];
  const observance = (kind: 'STANDARD' | 'DAYLIGHT', rule: Rule, from: string): void => {
    out.push(`BEGIN:${kind}`, line('TZOFFSETFROM', from), line('TZOFFSETTO', rule.offset), line('TZNAME', rule.name));
    out.push(line('DTSTART', rule.start ?? '19700101T000000'));
    if (rule.rrule) out.push(line('RRULE', rule.rrule));
    out.push(`END:${kind}`);
  };
  if (zone.daylight) observance('DAYLIGHT', zone.daylight, zone.standard.offset);
  observance('STANDARD', zone.standard, zone.daylight?.offset ?? zone.standard.offset);
  out.push('END:VTIMEZONE');
  return out;
}
