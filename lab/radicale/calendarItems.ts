// The lab's calendar objects (RFC 5545): one user's events, private events, meeting-room
// bookings and tasks, deterministic from the user's PRNG and the anchor (Monday 00:00
// UTC of the week the corpus was generated). Every kind free/busy and a calendar copy
// must handle appears in the current or the next week of every user: meetings they
// organize with attendees of both organizations, invitations, a weekly series in their
// site's time zone with a moved occurrence (RECURRENCE-ID), a cancelled one (a
// RECURRENCE-ID with STATUS:CANCELLED) and two EXDATEs, a daily stand-up with an
// exception and EXDATEs, a monthly series, all-day events (free and out-of-office),
// events in Europe/Berlin and America/New_York with their VTIMEZONE, tentative, OOF,
// transparent (free) and cancelled events; the rest is spread over the whole window.
// Series are bounded (COUNT/UNTIL) so nothing reaches far-off test windows.
import { createHash } from 'node:crypto';
import type { ForestId } from '../forests.ts';
import { paragraphText } from '../mailstore/corpus/text.ts';
import type { Prng } from '../org/prng.ts';
import { DAY_MS, dateValue, HOUR_MS, line, lines, localValue, text, utcValue, uuidOf } from './icalText.ts';
import { SITE_ZONES, type TzId, vtimezone } from './timezones.ts';

/** First and last day (exclusive) of the window, in days from the anchor. */
export const WINDOW_DAYS = { start: -28, end: 56 } as const;

/** Someone who can be invited: a sample user with mail, of either forest. */
export interface Contact {
  name: string;
  email: string;
  forest: ForestId;
}

/** The owner of the collections being generated. */
export interface CalendarUser extends Contact {
  upn: string;
  site: string;
}

export interface ItemContext {
  seed: string;
  user: CalendarUser;
  /** Monday 00:00 UTC the window is laid around. */
  anchor: number;
  rnd: Prng;
  /** Sample users with mail of both forests, the user excluded. */
  pool: readonly Contact[];
}

/** One stored calendar object resource or vCard: the file `<uid>.ics|.vcf` holds `text`. */
export interface CollectionItem {
  uid: string;
  /** What it exercises (EVENT_KINDS, TASK_KINDS, or the vCard kinds of contacts.ts). */
  kind: string;
  text: string;
}

export const EVENT_KINDS = [
  'meeting',
  'invitation',
  'weekly',
  'daily',
  'monthly',
  'allday',
  'vacation',
  'timezone',
  'tentative',
  'oof',
  'free',
  'cancelled',
  'private',
  'room',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const TASK_KINDS = ['completed', 'in-process', 'needs-action', 'cancelled'] as const;

/** Languages of the sites (lab/org/names.ts): display names and a few summaries follow them. */
type Lang = 'en' | 'de' | 'pt' | 'pl' | 'ja' | 'fr';
const SITE_LANG: Record<string, Lang> = {
  Atlanta: 'en',
  Berlin: 'de',
  'São Paulo': 'pt',
  Kraków: 'pl',
  Zürich: 'de',
  Tokyo: 'ja',
  Montréal: 'fr',
};

const WORDS: Record<'calendar' | 'tasks' | 'contacts' | 'private' | 'vacation' | 'weekly' | 'standup', Record<Lang, string>> = {
  calendar: { en: 'Calendar', de: 'Kalender', pt: 'Calendário', pl: 'Kalendarz', ja: 'カレンダー', fr: 'Calendrier' },
  tasks: { en: 'Tasks', de: 'Aufgaben', pt: 'Tarefas', pl: 'Zadania', ja: 'タスク', fr: 'Tâches' },
  contacts: { en: 'Contacts', de: 'Kontakte', pt: 'Contatos', pl: 'Kontakty', ja: '連絡先', fr: 'Contacts' },
  private: { en: 'Private', de: 'Privat', pt: 'Particular', pl: 'Prywatne', ja: 'プライベート', fr: 'Privé' },
  vacation: { en: 'Vacation', de: 'Urlaub', pt: 'Férias', pl: 'Urlop', ja: '休暇', fr: 'Vacances' },
  weekly: {
    en: 'Weekly team meeting',
    de: 'Wöchentliche Teambesprechung',
    pt: 'Reunião semanal da equipe',
    pl: 'Cotygodniowe spotkanie zespołu',
    ja: '週次チーム会議',
    fr: 'Réunion d’équipe hebdomadaire',
  },
  standup: { en: 'Daily stand-up', de: 'Daily Stand-up', pt: 'Daily', pl: 'Codzienne spotkanie', ja: '朝会', fr: 'Point quotidien' },
};

/** A word in the language of a site. */
export function localized(word: keyof typeof WORDS, site: string): string {
  return WORDS[word][SITE_LANG[site] ?? 'en'];
}

const SUBJECTS = [
  'Budget review',
  'Integration steering meeting',
  'Besprechung – Übersicht Migration',
  'Réunion : calendrier de bascule',
  'Spotkanie projektowe – Łódź',
  '会議：移行計画の確認',
  'Customer call: Müller & Söhne',
  'Cutover planning; wave 2, final',
  'Vendor demo',
  'Architecture review',
  'Quarterly business review',
  'Interview – Software Engineer',
  'Retrospective',
  'Sprint planning',
  'Reunião de alinhamento – São Paulo',
  'Mailbox migration: pilot users',
];

const LOCATIONS = [
  'Raum Berlin 1.02',
  'Sala São Paulo – 3º andar',
  'Salle Montréal, 2e étage',
  'Sala Kraków (Wawel)',
  '会議室 東京 5F',
  'Zürich, Bahnhofstrasse 1',
  'Atlanta HQ; Room 401',
  'Online meeting',
];

const PRODIDS = [
  '-//crossforest//lab calendar 1.0//EN',
  '-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN',
  '-//Apple Inc.//macOS 14.0//EN',
  '-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN',
];

/** What a time is written in: UTC (…Z), a DATE (all-day) or a named time zone (TZID). */
type Zone = 'UTC' | 'DATE' | TzId;
/** `t` is wall-clock time computed with UTC arithmetic (see icalText.ts). */
interface When {
  t: number;
  zone: Zone;
}

interface Attendee {
  c: Contact;
  partstat: 'ACCEPTED' | 'TENTATIVE' | 'DECLINED' | 'NEEDS-ACTION';
  role?: 'CHAIR' | 'REQ-PARTICIPANT' | 'OPT-PARTICIPANT';
}

interface VEventSpec {
  start: When;
  end: When;
  summary: string;
  location?: string;
  description?: string;
  status?: 'CONFIRMED' | 'TENTATIVE' | 'CANCELLED';
  transp?: 'OPAQUE' | 'TRANSPARENT';
  /** X-MICROSOFT-CDO-BUSYSTATUS, what Outlook and Exchange read. */
  busy?: 'BUSY' | 'TENTATIVE' | 'OOF' | 'FREE';
  organizer?: Contact;
  attendees?: Attendee[];
  rrule?: string;
  exdates?: When[];
  recurrenceId?: When;
  klass?: 'PUBLIC' | 'PRIVATE';
  /** Minutes before the start for a display alarm. */
  alarm?: number;
  sequence?: number;
  categories?: string[];
}

function timeLine(name: string, w: When): string {
  if (w.zone === 'UTC') return line(name, utcValue(w.t));
  if (w.zone === 'DATE') return line(name, dateValue(w.t), { VALUE: 'DATE' });
  return line(name, localValue(w.t), { TZID: w.zone });
}

/** DTSTAMP / LAST-MODIFIED of every generated object: the Friday before the anchor, 09:00 UTC. */
function stampOf(anchor: number): number {
  return anchor - 3 * DAY_MS + 9 * HOUR_MS;
}

function vevent(uid: string, stamp: number, s: VEventSpec): string[] {
  const out = [
    'BEGIN:VEVENT',
    line('UID', uid),
    line('DTSTAMP', utcValue(stamp)),
    line('CREATED', utcValue(stamp - 20 * DAY_MS)),
    line('LAST-MODIFIED', utcValue(stamp)),
  ];
  if (s.recurrenceId) out.push(timeLine('RECURRENCE-ID', s.recurrenceId));
  out.push(timeLine('DTSTART', s.start), timeLine('DTEND', s.end));
  if (s.rrule) out.push(line('RRULE', s.rrule));
  for (const x of s.exdates ?? []) out.push(timeLine('EXDATE', x));
  out.push(line('SUMMARY', text(s.summary)));
  if (s.location) out.push(line('LOCATION', text(s.location)));
  if (s.description) out.push(line('DESCRIPTION', text(s.description)));
  if (s.organizer) out.push(line('ORGANIZER', `mailto:${s.organizer.email}`, { CN: s.organizer.name }));
  for (const a of s.attendees ?? []) {
    out.push(
      line('ATTENDEE', `mailto:${a.c.email}`, {
        CN: a.c.name,
        CUTYPE: 'INDIVIDUAL',
        ROLE: a.role ?? 'REQ-PARTICIPANT',
        PARTSTAT: a.partstat,
        RSVP: a.partstat === 'NEEDS-ACTION' ? 'TRUE' : undefined,
      }),
    );
  }
  if (s.categories) out.push(line('CATEGORIES', s.categories.map(text).join(',')));
  out.push(line('STATUS', s.status ?? 'CONFIRMED'), line('TRANSP', s.transp ?? 'OPAQUE'));
  if (s.klass) out.push(line('CLASS', s.klass));
  out.push(line('SEQUENCE', String(s.sequence ?? 0)));
  if (s.busy) out.push(line('X-MICROSOFT-CDO-BUSYSTATUS', s.busy));
  if (s.start.zone === 'DATE') out.push(line('X-MICROSOFT-CDO-ALLDAYEVENT', 'TRUE'));
  if (s.alarm) {
    out.push(
      'BEGIN:VALARM',
      line('ACTION', 'DISPLAY'),
      line('TRIGGER', `-PT${s.alarm}M`),
      line('DESCRIPTION', text(s.summary)),
      'END:VALARM',
    );
  }
  out.push('END:VEVENT');
  return out;
}

/** A VCALENDAR object: the VTIMEZONEs its components use, then the components. */
function vcalendar(prodid: string, components: string[][], zones: Iterable<Zone>): string {
  const out = ['BEGIN:VCALENDAR', line('VERSION', '2.0'), line('PRODID', prodid), line('CALSCALE', 'GREGORIAN')];
  for (const z of new Set(zones)) if (z !== 'UTC' && z !== 'DATE') out.push(...vtimezone(z));
  for (const c of components) out.push(...c);
  out.push('END:VCALENDAR');
  return lines(out);
}

function zonesOf(specs: VEventSpec[]): Zone[] {
  return specs.flatMap((s) => [s.start.zone, s.end.zone, ...(s.exdates ?? []).map((x) => x.zone), s.recurrenceId?.zone ?? 'UTC']);
}

/** A deterministic UUID for item `n` of a user's collection. */
export function itemUid(ctx: Pick<ItemContext, 'seed' | 'user'>, collection: string, n: number): string {
  return uuidOf(
    createHash('sha256').update(`radicale\u0000${ctx.seed}\u0000${ctx.user.upn}\u0000${collection}\u0000${n}`).digest().subarray(0, 16),
  );
}

function eventObject(ctx: ItemContext, uid: string, kind: string, specs: VEventSpec[]): CollectionItem {
  const stamp = stampOf(ctx.anchor);
  return {
    uid,
    kind,
    text: vcalendar(
      ctx.rnd.pick(PRODIDS),
      specs.map((s) => vevent(uid, stamp, s)),
      zonesOf(specs),
    ),
  };
}

// --- placing things in time ----------------------------------------------------------

function weekday(day: number): number {
  return ((day % 7) + 7) % 7; // 0 = Monday (the anchor is a Monday)
}

/** A Monday-to-Friday day in [from, to) days from the anchor. */
function workday(rnd: Prng, from: number, to: number): number {
  for (;;) {
    const d = from + rnd.int(to - from);
    if (weekday(d) < 5) return d;
  }
}

function at(ctx: ItemContext, day: number, hour: number, minute = 0): number {
  return ctx.anchor + day * DAY_MS + hour * HOUR_MS + minute * 60_000;
}

function utc(t: number): When {
  return { t, zone: 'UTC' };
}

function span(ctx: ItemContext, zone: Zone, day: number, hour: number, minutes: number, minute = 0): { start: When; end: When } {
  const t = at(ctx, day, hour, minute);
  return { start: { t, zone }, end: { t: t + minutes * 60_000, zone } };
}

function allDay(ctx: ItemContext, day: number, days: number): { start: When; end: When } {
  return { start: { t: at(ctx, day, 0), zone: 'DATE' }, end: { t: at(ctx, day + days, 0), zone: 'DATE' } };
}

// --- who is there ---------------------------------------------------------------------

function otherForest(ctx: ItemContext): Contact {
  const others = ctx.pool.filter((c) => c.forest !== ctx.user.forest);
  return ctx.rnd.pick(others.length > 0 ? others : ctx.pool);
}

/** 2-5 people of the pool, at least one of the other organization, none twice. */
function someAttendees(ctx: ItemContext, min = 2, max = 5): Contact[] {
  const n = min + ctx.rnd.int(max - min + 1);
  const out = [otherForest(ctx)];
  for (let tries = 0; out.length < Math.min(n, ctx.pool.length) && tries < 50; tries++) {
    const c = ctx.rnd.pick(ctx.pool);
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

const PARTSTATS: Attendee['partstat'][] = ['ACCEPTED', 'ACCEPTED', 'TENTATIVE', 'DECLINED', 'NEEDS-ACTION'];

/** The user organizes: ORGANIZER is them, ATTENDEEs of both organizations (the user as CHAIR first). */
function hosted(ctx: ItemContext): Pick<VEventSpec, 'organizer' | 'attendees'> {
  return {
    organizer: ctx.user,
    attendees: [
      { c: ctx.user, partstat: 'ACCEPTED', role: 'CHAIR' },
      ...someAttendees(ctx).map((c) => ({ c, partstat: ctx.rnd.pick(PARTSTATS) })),
    ],
  };
}

/** Someone of the other organization invites the user. */
function invited(ctx: ItemContext, partstat: Attendee['partstat'] = 'ACCEPTED'): Pick<VEventSpec, 'organizer' | 'attendees'> {
  const organizer = otherForest(ctx);
  return {
    organizer,
    attendees: [
      { c: organizer, partstat: 'ACCEPTED', role: 'CHAIR' },
      { c: ctx.user, partstat },
      ...someAttendees(ctx, 1, 3)
        .filter((c) => c !== organizer)
        .map((c) => ({ c, partstat: ctx.rnd.pick(PARTSTATS) })),
    ],
  };
}

function subject(ctx: ItemContext): string {
  return ctx.rnd.pick(SUBJECTS);
}

function description(ctx: ItemContext): string | undefined {
  return ctx.rnd.chance(0.4) ? paragraphText(ctx.rnd, 120 + ctx.rnd.int(500)) : undefined;
}

// --- the events -----------------------------------------------------------------------

type Maker = (ctx: ItemContext, uid: string, day: number) => CollectionItem;

function meeting(ctx: ItemContext, uid: string, day: number): CollectionItem {
  const hour = 8 + ctx.rnd.int(9);
  return eventObject(ctx, uid, 'meeting', [
    {
      ...span(ctx, 'UTC', day, hour, ctx.rnd.pick([30, 60, 60, 90]), ctx.rnd.pick([0, 30])),
      summary: subject(ctx),
      location: ctx.rnd.pick(LOCATIONS),
      description: description(ctx),
      ...hosted(ctx),
      alarm: 15,
      busy: 'BUSY',
    },
  ]);
}

function invitation(ctx: ItemContext, uid: string, day: number): CollectionItem {
  return eventObject(ctx, uid, 'invitation', [
    {
      ...span(ctx, 'UTC', day, 7 + ctx.rnd.int(10), ctx.rnd.pick([30, 45, 60])),
      summary: subject(ctx),
      location: ctx.rnd.chance(0.5) ? ctx.rnd.pick(LOCATIONS) : undefined,
      description: description(ctx),
      ...invited(ctx),
      sequence: ctx.rnd.int(3),
    },
  ]);
}

/** Alternately in Europe/Berlin and America/New_York (local working hours), with the VTIMEZONE. */
function zoned(ctx: ItemContext, uid: string, day: number, tz?: TzId): CollectionItem {
  const zone = tz ?? ctx.rnd.pick<TzId>(['Europe/Berlin', 'America/New_York']);
  const what = zone === 'Europe/Berlin' ? 'Abstimmung mit dem Berliner Büro' : 'Client call (New York office)';
  return eventObject(ctx, uid, 'timezone', [
    { ...span(ctx, zone, day, 9 + ctx.rnd.int(8), 60), summary: what, location: ctx.rnd.pick(LOCATIONS), ...invited(ctx) },
  ]);
}

function tentative(ctx: ItemContext, uid: string, day: number): CollectionItem {
  return eventObject(ctx, uid, 'tentative', [
    {
      ...span(ctx, 'UTC', day, 9 + ctx.rnd.int(7), 60),
      summary: `Vorläufig: ${subject(ctx)}`,
      status: 'TENTATIVE',
      busy: 'TENTATIVE',
      ...invited(ctx, 'TENTATIVE'),
    },
  ]);
}

function outOfOffice(ctx: ItemContext, uid: string, day: number): CollectionItem {
  return eventObject(ctx, uid, 'oof', [
    {
      ...span(ctx, 'UTC', day, 13 + ctx.rnd.int(3), 120),
      summary: ctx.rnd.pick(['Arzttermin', 'Doctor’s appointment', 'Customer site visit – São Paulo', 'Wizyta u lekarza']),
      busy: 'OOF',
    },
  ]);
}

function free(ctx: ItemContext, uid: string, day: number): CollectionItem {
  return eventObject(ctx, uid, 'free', [
    {
      ...span(ctx, 'UTC', day, 12, 60),
      summary: ctx.rnd.pick(['Mittagspause', 'Focus time', 'Déjeuner', 'Lunch, coffee; cake']),
      transp: 'TRANSPARENT',
      busy: 'FREE',
    },
  ]);
}

function allDayFree(ctx: ItemContext, uid: string, day: number): CollectionItem {
  const c = ctx.rnd.pick(ctx.pool);
  return eventObject(ctx, uid, 'allday', [
    {
      ...allDay(ctx, day, 1),
      summary: ctx.rnd.pick([`Geburtstag: ${c.name}`, 'Company anniversary', 'Public holiday – Feiertag', 'Release day']),
      transp: 'TRANSPARENT',
      busy: 'FREE',
    },
  ]);
}

function vacation(ctx: ItemContext, uid: string, day: number): CollectionItem {
  return eventObject(ctx, uid, 'vacation', [
    { ...allDay(ctx, day, 3), summary: localized('vacation', ctx.user.site), busy: 'OOF', transp: 'OPAQUE', klass: 'PUBLIC' },
  ]);
}

function cancelled(ctx: ItemContext, uid: string, day: number): CollectionItem {
  return eventObject(ctx, uid, 'cancelled', [
    {
      ...span(ctx, 'UTC', day, 10 + ctx.rnd.int(6), 60),
      summary: `Abgesagt: ${subject(ctx)}`,
      status: 'CANCELLED',
      sequence: 2,
      ...invited(ctx, 'DECLINED'),
    },
  ]);
}

/**
 * Weekly in the user's site time zone, 12 occurrences from 4 weeks before the anchor:
 * occurrence 4 (this week) moved two hours later, 8 cancelled by a RECURRENCE-ID with
 * STATUS:CANCELLED, 3 and 5 (next week) removed by EXDATE.
 */
function weekly(ctx: ItemContext, uid: string): CollectionItem {
  const zone = SITE_ZONES[ctx.user.site] ?? 'Europe/Berlin';
  const wd = ctx.rnd.int(5);
  const first = WINDOW_DAYS.start + wd;
  const hour = 9 + ctx.rnd.int(6);
  const occurrence = (k: number): When => ({ t: at(ctx, first + 7 * k, hour), zone });
  const people = hosted(ctx);
  const summary = localized('weekly', ctx.user.site);
  const master: VEventSpec = {
    ...span(ctx, zone, first, hour, 60),
    summary,
    location: ctx.rnd.pick(LOCATIONS),
    rrule: `FREQ=WEEKLY;BYDAY=${['MO', 'TU', 'WE', 'TH', 'FR'][wd]};COUNT=12`,
    exdates: [occurrence(3), occurrence(5)],
    ...people,
    alarm: 10,
  };
  const moved: VEventSpec = {
    ...span(ctx, zone, first + 28, hour + 2, 60),
    recurrenceId: occurrence(4),
    summary: `${summary} (verschoben / moved)`,
    location: master.location,
    ...people,
    sequence: 1,
  };
  const dropped: VEventSpec = {
    ...span(ctx, zone, first + 56, hour, 60),
    recurrenceId: occurrence(8),
    summary,
    status: 'CANCELLED',
    sequence: 1,
  };
  return eventObject(ctx, uid, 'weekly', [master, moved, dropped]);
}

/**
 * Monday to Friday 08:30 UTC over the whole window (UNTIL), two EXDATEs (this Wednesday,
 * next Wednesday) and this Thursday's occurrence moved to 09:00.
 */
function daily(ctx: ItemContext, uid: string): CollectionItem {
  const first = WINDOW_DAYS.start;
  const occurrence = (day: number): When => utc(at(ctx, day, 8, 30));
  const summary = localized('standup', ctx.user.site);
  const master: VEventSpec = {
    ...span(ctx, 'UTC', first, 8, 15, 30),
    summary,
    rrule: `FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;UNTIL=${utcValue(at(ctx, WINDOW_DAYS.end, 0) - 1000)}`,
    exdates: [occurrence(2), occurrence(9)],
    organizer: ctx.user,
    location: 'Online meeting',
    categories: ['Stand-up', 'Team'],
  };
  const moved: VEventSpec = {
    ...span(ctx, 'UTC', 3, 9, 15),
    recurrenceId: occurrence(3),
    summary: `${summary} – später`,
    organizer: ctx.user,
    sequence: 1,
  };
  return eventObject(ctx, uid, 'daily', [master, moved]);
}

/** Monthly on the same day for four months, starting in the first week of the window. */
function monthly(ctx: ItemContext, uid: string): CollectionItem {
  let day = WINDOW_DAYS.start;
  while (new Date(at(ctx, day, 0)).getUTCDate() > 28 || weekday(day) > 4) day++;
  return eventObject(ctx, uid, 'monthly', [
    {
      ...span(ctx, 'UTC', day, 14, 60),
      summary: 'Monthly business review – Übersicht',
      rrule: 'FREQ=MONTHLY;COUNT=4',
      ...hosted(ctx),
    },
  ]);
}

/** Makers of the events spread over the whole window, with their weights. */
const FILLERS: [Maker, number][] = [
  [meeting, 35],
  [invitation, 30],
  [zoned, 10],
  [tentative, 10],
  [free, 5],
  [allDayFree, 5],
  [outOfOffice, 5],
];

function filler(rnd: Prng): Maker {
  let r = rnd.int(100);
  for (const [m, w] of FILLERS) {
    if (r < w) return m;
    r -= w;
  }
  return meeting;
}

/**
 * The events of a user's `calendar`: first one of every kind in the current or next week
 * (fourteen objects), then `count - 14` spread over the window. Fewer than 14 keeps the
 * first `count` of those.
 */
export function userEvents(ctx: ItemContext, count: number): CollectionItem[] {
  const uid = (n: number) => itemUid(ctx, 'calendar', n);
  const r = ctx.rnd;
  const fixed: ((n: number) => CollectionItem)[] = [
    (n) => meeting(ctx, uid(n), workday(r, 0, 5)),
    (n) => invitation(ctx, uid(n), workday(r, 0, 10)),
    (n) => weekly(ctx, uid(n)),
    (n) => daily(ctx, uid(n)),
    (n) => zoned(ctx, uid(n), workday(r, 0, 10), 'Europe/Berlin'),
    (n) => zoned(ctx, uid(n), workday(r, 0, 10), 'America/New_York'),
    (n) => tentative(ctx, uid(n), workday(r, 0, 10)),
    (n) => outOfOffice(ctx, uid(n), workday(r, 0, 10)),
    (n) => free(ctx, uid(n), workday(r, 0, 5)),
    (n) => allDayFree(ctx, uid(n), r.int(14)),
    (n) => vacation(ctx, uid(n), 7 + r.int(3)),
    (n) => cancelled(ctx, uid(n), workday(r, 0, 10)),
    (n) => monthly(ctx, uid(n)),
    (n) => meeting(ctx, uid(n), workday(r, 5, 12)),
  ];
  const out: CollectionItem[] = [];
  for (let n = 0; n < count; n++) {
    const f = fixed[n];
    out.push(f ? f(n) : filler(r)(ctx, uid(n), workday(r, WINDOW_DAYS.start, WINDOW_DAYS.end)));
  }
  return out;
}

/** The `private` calendar of some users: CLASS:PRIVATE appointments, one of them weekly. */
export function privateEvents(ctx: ItemContext, count: number): CollectionItem[] {
  const what = ['Zahnarzt', 'Gym', 'Kids pickup', 'Elternabend', 'Physio', 'Car service', 'Cours de français', 'Wizyta u fryzjera'];
  const out: CollectionItem[] = [];
  for (let n = 0; n < count; n++) {
    const uid = itemUid(ctx, 'private', n);
    const day = n === 0 ? WINDOW_DAYS.start + ctx.rnd.int(5) : workday(ctx.rnd, 0, WINDOW_DAYS.end);
    const spec: VEventSpec = {
      ...span(ctx, 'UTC', day, n === 0 ? 17 : 7 + ctx.rnd.int(12), 60),
      summary: n === 0 ? 'Gym' : ctx.rnd.pick(what),
      klass: 'PRIVATE',
      ...(n === 0 ? { rrule: 'FREQ=WEEKLY;COUNT=10' } : {}),
    };
    out.push(eventObject(ctx, uid, 'private', [spec]));
  }
  return out;
}

/**
 * Bookings in the shared `meeting-rooms` calendar, made by colleagues: TRANSP:TRANSPARENT,
 * because a booking must not make the calendar's owner (a person keeping the rooms' calendar) busy.
 */
export function roomBookings(ctx: ItemContext, count: number, rooms: readonly string[]): CollectionItem[] {
  const out: CollectionItem[] = [];
  for (let n = 0; n < count; n++) {
    const room = rooms[n % rooms.length] as string;
    const organizer = ctx.rnd.pick(ctx.pool.filter((c) => c.forest === ctx.user.forest).concat(ctx.user));
    out.push(
      eventObject(ctx, itemUid(ctx, 'meeting-rooms', n), 'room', [
        {
          ...span(ctx, 'UTC', workday(ctx.rnd, -7, 21), 8 + ctx.rnd.int(9), ctx.rnd.pick([30, 60, 120])),
          summary: `${room}: ${subject(ctx)}`,
          location: room,
          organizer,
          transp: 'TRANSPARENT',
          busy: 'FREE',
        },
      ]),
    );
  }
  return out;
}

// --- tasks ----------------------------------------------------------------------------

const TASK_SUMMARIES = [
  'Übersicht der Postfächer prüfen',
  'Send the cutover plan to Zoë',
  'Préparer la réunion de bascule',
  'Sprawdzić listę kontaktów',
  '移行スケジュールを確認する',
  'Renew the TLS certificate',
  'Book travel to São Paulo',
  'Review GAL sync report',
  'Expense report, November',
  'Update the org chart; HR',
];

interface TodoSpec {
  summary: string;
  status: (typeof TASK_KINDS)[number];
  due?: When;
  start?: When;
  percent?: number;
  completed?: number;
  priority?: number;
  description?: string;
}

function vtodo(uid: string, stamp: number, s: TodoSpec): string[] {
  const out = ['BEGIN:VTODO', line('UID', uid), line('DTSTAMP', utcValue(stamp)), line('CREATED', utcValue(stamp - 20 * DAY_MS))];
  out.push(line('LAST-MODIFIED', utcValue(stamp)), line('SUMMARY', text(s.summary)));
  if (s.description) out.push(line('DESCRIPTION', text(s.description)));
  if (s.start) out.push(timeLine('DTSTART', s.start));
  if (s.due) out.push(timeLine('DUE', s.due));
  out.push(line('STATUS', s.status.toUpperCase()));
  if (s.priority !== undefined) out.push(line('PRIORITY', String(s.priority)));
  if (s.percent !== undefined) out.push(line('PERCENT-COMPLETE', String(s.percent)));
  if (s.completed !== undefined) out.push(line('COMPLETED', utcValue(s.completed)));
  out.push('END:VTODO');
  return out;
}

/**
 * The VTODOs of a user's `tasks`: a completed one, one in process, one due on a DATE, one
 * due in the user's time zone (with its VTIMEZONE), one without a due date, a cancelled
 * one, then open tasks due somewhere in the window.
 */
export function userTasks(ctx: ItemContext, count: number): CollectionItem[] {
  const zone = SITE_ZONES[ctx.user.site] ?? 'Europe/Berlin';
  const r = ctx.rnd;
  const fixed: TodoSpec[] = [
    { summary: TASK_SUMMARIES[1] as string, status: 'completed', due: utc(at(ctx, -3, 17)), completed: at(ctx, -4, 15, 12), percent: 100 },
    { summary: TASK_SUMMARIES[0] as string, status: 'in-process', due: { t: at(ctx, 8, 0), zone: 'DATE' }, percent: 40, priority: 5 },
    {
      summary: TASK_SUMMARIES[2] as string,
      status: 'needs-action',
      start: { t: at(ctx, 1, 9), zone },
      due: { t: at(ctx, 2, 17), zone },
      priority: 1,
    },
    { summary: TASK_SUMMARIES[4] as string, status: 'needs-action', priority: 9, description: paragraphText(r, 200) },
    { summary: TASK_SUMMARIES[5] as string, status: 'cancelled', due: utc(at(ctx, 5, 12)) },
  ];
  const out: CollectionItem[] = [];
  const stamp = stampOf(ctx.anchor);
  for (let n = 0; n < count; n++) {
    const s: TodoSpec = fixed[n] ?? {
      summary: r.pick(TASK_SUMMARIES),
      status: 'needs-action',
      due: r.chance(0.5) ? utc(at(ctx, workday(r, 0, WINDOW_DAYS.end), 17)) : { t: at(ctx, r.int(WINDOW_DAYS.end), 0), zone: 'DATE' },
      priority: r.pick([1, 5, 9]),
    };
    const uid = itemUid(ctx, 'tasks', n);
    const zones = [s.start?.zone, s.due?.zone].filter((z): z is Zone => z !== undefined);
    out.push({ uid, kind: s.status, text: vcalendar(r.pick(PRODIDS), [vtodo(uid, stamp, s)], zones) });
  }
  return out;
}
