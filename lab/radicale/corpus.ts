// The lab's calendars and address books, written straight into Radicale's multifilesystem
// storage (while that Radicale is stopped): `<root>/<upn>/<collection>/` with a
// `.Radicale.props` JSON and one `<uid>.ics` / `<uid>.vcf` per item, which is how
// Radicale 3.1 stores what it is PUT (it builds its `.Radicale.cache/` on first read).
// Every mailbox user of the forest (lab/org samplePeople, the users Dovecot serves) gets
// `calendar` (VEVENT), `tasks` (VTODO) and `contacts` (vCards); every fifth a `private`
// calendar; one user per forest keeps the shared `meeting-rooms` calendar that a few
// colleagues may write or read (the rights file, radicale.ts).
//
// Dates are laid around an anchor, the Monday (00:00 UTC) of the week of generation, so
// "today", "tomorrow" and "next week" always hold events: `lab up` regenerates when the
// week changed (or size, seed, RADICALE_CORPUS_VERSION). The same size, seed and week
// give the same bytes. writeRadicaleCorpus is what a benchmark calls with larger counts.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ForestId } from '../forests.ts';
import { companyOf, type SamplePerson, samplePeople } from '../org/people.ts';
import { createPrng } from '../org/prng.ts';
import {
  type CalendarUser,
  type CollectionItem,
  type Contact,
  type ItemContext,
  localized,
  privateEvents,
  roomBookings,
  userEvents,
  userTasks,
} from './calendarItems.ts';
import { mondayOf } from './icalText.ts';
import { cardOfPerson, userContacts } from './vcards.ts';

/** Bump when the generated collections change, so existing labs regenerate. */
export const RADICALE_CORPUS_VERSION = 1;
/** The shared calendar's collection name (under its owner's home). */
export const SHARED_CALENDAR = 'meeting-rooms';

/** Items per user (exact). Without them, `lab up` draws each user's counts from LAB_RANGES. */
export interface RadicaleCounts {
  events: number;
  tasks: number;
  contacts: number;
  /** Events of the `private` calendar (every fifth user). */
  privateEvents: number;
  /** Bookings in the shared meeting-rooms calendar (one per forest). */
  roomBookings: number;
}

/** Per-user counts of the lab (uniform in [min, max]): modest, so `lab up` stays fast. */
export const LAB_RANGES: Record<keyof RadicaleCounts, [number, number]> = {
  events: [30, 50],
  tasks: [8, 12],
  contacts: [20, 40],
  privateEvents: [5, 8],
  roomBookings: [16, 16],
};

export interface CollectionManifest {
  name: string;
  displayName: string;
  /** What its items are: VEVENT or VTODO (calendars, `.ics`), VCARD (address book, `.vcf`). */
  component: 'VEVENT' | 'VTODO' | 'VCARD';
  items: number;
  bytes: number;
  /** Items by what they exercise (EVENT_KINDS, TASK_KINDS, VCARD_KINDS). */
  kinds: Record<string, number>;
}

export interface SharedCalendarInfo {
  owner: string;
  collection: typeof SHARED_CALENDAR;
  displayName: string;
  /** May read and write its events (rights `rw`), and see the owner's home (`R`). */
  writers: string[];
  /** May read its events (`r`), and see the owner's home (`R`). */
  readers: string[];
}

export interface RadicaleCorpusManifest {
  version: number;
  forest: ForestId;
  size: number;
  seed: string;
  /** The Monday (UTC, YYYY-MM-DD) the events are laid around: from 4 weeks before to 8 weeks after. */
  anchor: string;
  /** The exact counts the caller gave (the others, and all when null: the lab's per-user ranges, LAB_RANGES). */
  counts: Partial<RadicaleCounts> | null;
  generatedAt: string;
  seconds: number;
  totals: { users: number; collections: number; events: number; tasks: number; contacts: number; files: number; bytes: number };
  shared: SharedCalendarInfo | null;
  users: { upn: string; collections: CollectionManifest[] }[];
}

export interface RadicaleCorpusOptions {
  forest: ForestId;
  /** Sample organization (lab/org): whose collections, and whom the events invite and the cards list. */
  size: number;
  seed: string;
  /** Exact items per user (a benchmark's 500 events + 200 vCards); default: the lab's ranges. */
  counts?: Partial<RadicaleCounts>;
  /** Only the first N mailbox users get collections (a benchmark's subset). Default: all. */
  users?: number;
  /** Any time in the week to lay the events around; default now. */
  now?: number;
}

/** The forest's mailbox users (the ones Dovecot and Radicale log in), in sample order. */
export function mailboxUsers(forest: ForestId, size: number, seed: string, limit = Number.POSITIVE_INFINITY): SamplePerson[] {
  const out: SamplePerson[] = [];
  for (const p of samplePeople(forest, size, seed)) {
    if (out.length >= limit) break;
    if (p.hasMailbox) out.push(p);
  }
  return out;
}

/**
 * The shared calendar of a forest: kept by its second mailbox user, written by the first,
 * third and fourth, read by the fifth and sixth (those that exist); null below two users.
 */
export function sharedCalendarOf(forest: ForestId, users: readonly SamplePerson[]): SharedCalendarInfo | null {
  const owner = users[1];
  if (!owner) return null;
  const upns = (idx: number[]) => idx.flatMap((i) => (users[i] ? [users[i].upn] : []));
  return {
    owner: owner.upn,
    collection: SHARED_CALENDAR,
    displayName: `Meeting rooms – ${companyOf(forest)}`,
    writers: upns([0, 2, 3]),
    readers: upns([4, 5]),
  };
}

const ROOMS: Record<ForestId, string[]> = {
  a: ['Raum Berlin 1.02', 'Sala São Paulo – 3º andar', 'Sala Kraków (Wawel)', 'Atlanta HQ; Room 401'],
  b: ['Zürich – Limmat', '会議室 東京 5F', 'Salle Montréal, 2e étage', 'Atlanta Buckhead'],
};

const COLOURS = ['#0078D4FF', '#E74856FF', '#107C10FF', '#FF8C00FF', '#8764B8FF', '#00B7C3FF', '#C239B3FF'];

interface CollectionDef {
  name: string;
  component: CollectionManifest['component'];
  displayName: string;
  description: string;
  colour?: string;
}

/** The `.Radicale.props` of a collection, as Radicale writes it (keys sorted). */
function props(c: CollectionDef): string {
  const p: Record<string, string> =
    c.component === 'VCARD'
      ? { 'CR:addressbook-description': c.description, 'D:displayname': c.displayName, tag: 'VADDRESSBOOK' }
      : {
          'C:calendar-description': c.description,
          'C:supported-calendar-component-set': c.component,
          'D:displayname': c.displayName,
          ...(c.colour ? { 'ICAL:calendar-color': c.colour } : {}),
          tag: 'VCALENDAR',
        };
  return JSON.stringify(Object.fromEntries(Object.entries(p).sort(([a], [b]) => (a < b ? -1 : 1))));
}

/** Replaces the collection `<root>/<upn>/<def.name>/` by the items; returns its manifest entry. */
function writeCollection(root: string, upn: string, c: CollectionDef, items: CollectionItem[]): CollectionManifest {
  const dir = join(root, upn, c.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '.Radicale.props'), props(c));
  const ext = c.component === 'VCARD' ? 'vcf' : 'ics';
  const kinds: Record<string, number> = {};
  let bytes = 0;
  for (const item of items) {
    const data = Buffer.from(item.text, 'utf8');
    writeFileSync(join(dir, `${item.uid}.${ext}`), data);
    bytes += data.length;
    kinds[item.kind] = (kinds[item.kind] ?? 0) + 1;
  }
  return { name: c.name, displayName: c.displayName, component: c.component, items: items.length, bytes, kinds };
}

function contactOf(p: SamplePerson): Contact | null {
  return p.mail ? { name: p.displayName, email: p.mail, forest: p.forest } : null;
}

/**
 * Writes every mailbox user's collections of one forest into `collectionRoot` (Radicale's
 * `<filesystem_folder>/collection-root`, Radicale stopped) and returns the manifest. Only
 * the collections it writes are replaced; anything else under a user's home stays.
 */
export function writeRadicaleCorpus(collectionRoot: string, opts: RadicaleCorpusOptions): RadicaleCorpusManifest {
  const t0 = performance.now();
  const { forest, size, seed } = opts;
  const anchor = mondayOf(opts.now ?? Date.now());
  const users = mailboxUsers(forest, size, seed, opts.users);
  const shared = sharedCalendarOf(forest, users);
  // Whom events invite and address books list: the first 200 people with mail of each forest.
  const sample = (['a', 'b'] as const).flatMap((f) => [...samplePeople(f, Math.min(size, 200), seed)].filter((p) => p.mail));
  const contacts = sample.flatMap((p) => contactOf(p) ?? []);
  const cards = sample.map(cardOfPerson);
  const manifestUsers: RadicaleCorpusManifest['users'] = [];
  users.forEach((person, ordinal) => {
    const user: CalendarUser = { name: person.displayName, email: person.mail ?? person.upn, forest, upn: person.upn, site: person.site };
    const pool = contacts.filter((c) => c.email !== user.email);
    const ctxFor = (collection: string): ItemContext => ({
      seed,
      user,
      anchor,
      pool,
      rnd: createPrng('radicale', seed, forest, person.upn, collection),
    });
    const countRnd = createPrng('radicale-counts', seed, forest, person.upn);
    const count = (k: keyof RadicaleCounts): number => {
      const exact = opts.counts?.[k];
      if (exact !== undefined) return exact;
      const [min, max] = LAB_RANGES[k];
      return min + countRnd.int(max - min + 1);
    };
    const home = person.displayName;
    const colour = createPrng('radicale-colour', seed, forest, person.upn).pick(COLOURS);
    const def = (name: string, word: Parameters<typeof localized>[0], component: CollectionDef['component']): CollectionDef => {
      const displayName = localized(word, person.site);
      return { name, component, displayName, description: `${displayName} – ${home} (${companyOf(forest)}, crossforest lab)`, colour };
    };
    const written: CollectionManifest[] = [
      writeCollection(collectionRoot, person.upn, def('calendar', 'calendar', 'VEVENT'), userEvents(ctxFor('calendar'), count('events'))),
      writeCollection(collectionRoot, person.upn, def('tasks', 'tasks', 'VTODO'), userTasks(ctxFor('tasks'), count('tasks'))),
      writeCollection(
        collectionRoot,
        person.upn,
        def('contacts', 'contacts', 'VCARD'),
        userContacts(ctxFor('contacts'), count('contacts'), cards),
      ),
    ];
    if (ordinal % 5 === 0) {
      const c = { ...def('private', 'private', 'VEVENT'), colour: '#6B6B6BFF' };
      written.push(writeCollection(collectionRoot, person.upn, c, privateEvents(ctxFor('private'), count('privateEvents'))));
    }
    if (shared?.owner === person.upn) {
      const c: CollectionDef = {
        name: SHARED_CALENDAR,
        component: 'VEVENT',
        displayName: shared.displayName,
        description: `Room bookings of ${companyOf(forest)}, kept by ${home}; ${shared.writers.length} colleagues book, ${shared.readers.length} read`,
        colour: '#498205FF',
      };
      written.push(
        writeCollection(collectionRoot, person.upn, c, roomBookings(ctxFor(SHARED_CALENDAR), count('roomBookings'), ROOMS[forest])),
      );
    }
    manifestUsers.push({ upn: person.upn, collections: written });
  });
  const all = manifestUsers.flatMap((u) => u.collections);
  const sum = (pick: (c: CollectionManifest) => number) => all.reduce((n, c) => n + pick(c), 0);
  return {
    version: RADICALE_CORPUS_VERSION,
    forest,
    size,
    seed,
    anchor: new Date(anchor).toISOString().slice(0, 10),
    counts: opts.counts ?? null,
    generatedAt: new Date().toISOString(),
    seconds: Math.round(performance.now() - t0) / 1000,
    totals: {
      users: manifestUsers.length,
      collections: all.length,
      events: sum((c) => (c.component === 'VEVENT' ? c.items : 0)),
      tasks: sum((c) => (c.component === 'VTODO' ? c.items : 0)),
      contacts: sum((c) => (c.component === 'VCARD' ? c.items : 0)),
      files: sum((c) => c.items + 1),
      bytes: sum((c) => c.bytes),
    },
    shared,
    users: manifestUsers,
  };
}

// --- the lab's manifest ------------------------------------------------------------------

/** `<labDir>/radicale-<x>/corpus.json`, beside the collections it describes. */
export function radicaleManifestPath(labDir: string, forest: ForestId): string {
  return join(labDir, `radicale-${forest}`, 'corpus.json');
}

export function readRadicaleManifest(labDir: string, forest: ForestId): RadicaleCorpusManifest | null {
  try {
    return JSON.parse(readFileSync(radicaleManifestPath(labDir, forest), 'utf8')) as RadicaleCorpusManifest;
  } catch {
    return null;
  }
}

/** Why the forest's collections must be (re)generated, or null when they are current. */
export function radicaleCorpusStale(have: RadicaleCorpusManifest | null, size: number, seed: string, now = Date.now()): string | null {
  if (!have) return 'no collections yet';
  if (have.version !== RADICALE_CORPUS_VERSION) return `generator version ${have.version} → ${RADICALE_CORPUS_VERSION}`;
  if (have.size !== size || have.seed !== seed) return `had size ${have.size}, seed ${have.seed}`;
  const anchor = new Date(mondayOf(now)).toISOString().slice(0, 10);
  if (have.anchor !== anchor) return `events laid around the week of ${have.anchor}, now the week of ${anchor}`;
  return null;
}

/**
 * Regenerates one forest's lab collections under `collectionRoot` and records the manifest.
 * The collections the previous manifest listed go first (a smaller size drops users'
 * collections), and the manifest is removed before writing, so a crash leaves no "fresh" marker.
 */
export function regenerateRadicaleCorpus(
  labDir: string,
  collectionRoot: string,
  forest: ForestId,
  size: number,
  seed: string,
): RadicaleCorpusManifest {
  const path = radicaleManifestPath(labDir, forest);
  const previous = readRadicaleManifest(labDir, forest);
  rmSync(path, { force: true });
  for (const u of previous?.users ?? []) {
    for (const c of u.collections) rmSync(join(collectionRoot, u.upn, c.name), { recursive: true, force: true });
  }
  mkdirSync(collectionRoot, { recursive: true });
  const m = writeRadicaleCorpus(collectionRoot, { forest, size, seed });
  writeFileSync(`${path}.tmp`, `${JSON.stringify(m, null, 1)}\n`);
  renameSync(`${path}.tmp`, path);
  return m;
}

/** The numbers lab.json and `lab status --json` show of a forest's collections. */
export function radicaleCorpusSummary(m: RadicaleCorpusManifest | null): Record<string, unknown> | null {
  if (!m) return null;
  return { anchor: m.anchor, ...m.totals, seconds: m.seconds, shared: m.shared ? `${m.shared.owner}/${m.shared.collection}/` : null };
}
