// The benches' own reading of a user's calendars and address books, with plain fetch and no
// product code on the wire: PROPFIND Depth 1 of the home (collections and their properties),
// PROPFIND Depth 1 of each collection (hrefs, ETags), then calendar-multiget /
// addressbook-multiget of every href. The XML is read with a few patterns that fit a
// WebDAV multistatus (any namespace prefix), not with the product's parser. `judge` then
// compares a target with the source by UID, object by object, with one canonical comparison.
import { canonical, uidOf } from '../../src/calendar/canonical.ts';

export interface CollectionSnapshot {
  name: string;
  kind: 'calendar' | 'addressbook';
  displayName: string | undefined;
  color: string | undefined;
  description: string | undefined;
  /** VEVENT, VTODO … as the server lists them (calendars). */
  components: string[];
  /** uid → text as the server returns it; objects without a UID under their href. */
  objects: Map<string, { etag: string; data: string }>;
  /** Objects whose UID another object of the collection has already. */
  duplicates: number;
}

const unescapeXml = (s: string): string =>
  s.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-f]+|#\d+);/gi, (_, e: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (named[e.toLowerCase()]) return named[e.toLowerCase()] as string;
    return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });
const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** The text of the first `<prefix:tag>` in `xml` (undefined when absent or empty). */
function element(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<(?:[\\w-]+:)?${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w-]+:)?${tag}>`).exec(xml);
  return m?.[1] ? unescapeXml(m[1]) : undefined;
}

/** Each `<response>` of a multistatus: its href and the props of its 200 propstats. */
function responses(xml: string): { href: string; props: string }[] {
  return [...xml.matchAll(/<(?:[\w-]+:)?response(?:\s[^>]*)?>([\s\S]*?)<\/(?:[\w-]+:)?response>/g)].map((m) => {
    const body = m[1] as string;
    const ok = [...body.matchAll(/<(?:[\w-]+:)?propstat(?:\s[^>]*)?>([\s\S]*?)<\/(?:[\w-]+:)?propstat>/g)]
      .map((p) => p[1] as string)
      .filter((p) => / 200 /.test(element(p, 'status') ?? ''));
    return { href: element(body, 'href') ?? '', props: ok.join('') };
  });
}

export interface DavReader {
  /** http://host:port */
  url: string;
  authorization: string;
}

async function request(r: DavReader, method: string, path: string, body: string, depth: string): Promise<string> {
  const res = await fetch(new URL(path, r.url), {
    method,
    body,
    headers: { authorization: r.authorization, depth, 'content-type': 'application/xml; charset=utf-8' },
  });
  const text = await res.text();
  if (res.status === 404) return '';
  if (res.status !== 207) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text;
}

const HOME_PROPS =
  '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" ' +
  'xmlns:CR="urn:ietf:params:xml:ns:carddav" xmlns:I="http://apple.com/ns/ical/"><D:prop><D:resourcetype/><D:displayname/>' +
  '<I:calendar-color/><C:calendar-description/><CR:addressbook-description/><C:supported-calendar-component-set/></D:prop></D:propfind>';
const ETAGS = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>';

function multigetBody(kind: CollectionSnapshot['kind'], hrefs: readonly string[]): string {
  const [ns, report, data] =
    kind === 'calendar'
      ? ['urn:ietf:params:xml:ns:caldav', 'calendar-multiget', 'calendar-data']
      : ['urn:ietf:params:xml:ns:carddav', 'addressbook-multiget', 'address-data'];
  return (
    `<?xml version="1.0" encoding="utf-8"?><X:${report} xmlns:D="DAV:" xmlns:X="${ns}"><D:prop><D:getetag/><X:${data}/></D:prop>` +
    `${hrefs.map((h) => `<D:href>${xmlText(h)}</D:href>`).join('')}</X:${report}>`
  );
}

/** Every collection of the home `/<login>/` with every object; [] when the home does not exist. */
export async function snapshotHome(r: DavReader, login: string): Promise<CollectionSnapshot[]> {
  const home = `/${encodeURIComponent(login)}/`;
  const out: CollectionSnapshot[] = [];
  for (const c of responses(await request(r, 'PROPFIND', home, HOME_PROPS, '1'))) {
    const path = new URL(c.href, r.url).pathname;
    const types = element(c.props, 'resourcetype') ?? '';
    const kind = /calendar\s*\/>/.test(types) ? 'calendar' : /addressbook\s*\/>/.test(types) ? 'addressbook' : undefined;
    if (!kind || path === home) continue;
    const snap: CollectionSnapshot = {
      name: decodeURIComponent(path.replace(/\/$/, '').split('/').pop() ?? ''),
      kind,
      displayName: element(c.props, 'displayname'),
      color: kind === 'calendar' ? element(c.props, 'calendar-color') : undefined,
      description: element(c.props, kind === 'calendar' ? 'calendar-description' : 'addressbook-description'),
      components:
        kind === 'calendar'
          ? [...(element(c.props, 'supported-calendar-component-set') ?? '').matchAll(/name="([^"]+)"/g)].map((m) => m[1] as string).sort()
          : [],
      objects: new Map(),
      duplicates: 0,
    };
    const hrefs = responses(await request(r, 'PROPFIND', path, ETAGS, '1'))
      .map((o) => o.href)
      .filter((h) => new URL(h, r.url).pathname !== path);
    for (let i = 0; i < hrefs.length; i += 200) {
      const xml = await request(r, 'REPORT', path, multigetBody(kind, hrefs.slice(i, i + 200)), '1');
      for (const o of responses(xml)) {
        const data = element(o.props, kind === 'calendar' ? 'calendar-data' : 'address-data');
        if (data === undefined) continue;
        const uid = uidOf(data) ?? o.href;
        if (snap.objects.has(uid)) snap.duplicates++;
        else snap.objects.set(uid, { etag: element(o.props, 'getetag') ?? '', data });
      }
    }
    out.push(snap);
  }
  return out;
}

export interface Judgement {
  collections: number;
  /** Source objects; on the target by UID; of those, the same by canonical comparison, or not. */
  source: number;
  present: number;
  identical: number;
  different: number;
  missing: number;
  /** Target objects that are not on the source, or a second object with a UID already seen. */
  extra: number;
  /** Display name, colour (calendars) and description of each source collection: the same on the target. */
  propsKept: number;
  propsTotal: number;
  /** Calendars whose supported component set (VEVENT, VTODO …) is the same on the target. */
  componentsKept: number;
  calendars: number;
  /** A few examples of what differs, for the log. */
  examples: string[];
}

export function emptyJudgement(): Judgement {
  return {
    collections: 0,
    source: 0,
    present: 0,
    identical: 0,
    different: 0,
    missing: 0,
    extra: 0,
    propsKept: 0,
    propsTotal: 0,
    componentsKept: 0,
    calendars: 0,
    examples: [],
  };
}

/** Adds the comparison of one user's target collections with the source's to `j`. */
export function judge(j: Judgement, login: string, source: CollectionSnapshot[], target: CollectionSnapshot[]): Judgement {
  const note = (what: string) => {
    if (j.examples.length < 8) j.examples.push(`${login}: ${what}`);
  };
  const byName = new Map(target.map((c) => [c.name, c]));
  for (const s of source) {
    j.collections++;
    const t = byName.get(s.name);
    if (!t || t.kind !== s.kind) note(`collection ${s.name} ${t ? `is a ${t.kind}` : 'missing'} on the target`);
    const props: [string, string | undefined, string | undefined][] = [
      ['displayname', s.displayName, t?.displayName],
      ['description', s.description, t?.description],
      ...(s.kind === 'calendar' ? [['calendar-color', s.color, t?.color] as [string, string | undefined, string | undefined]] : []),
    ];
    for (const [p, a, b] of props) {
      j.propsTotal++;
      if (t && a === b) j.propsKept++;
      else if (t) note(`${s.name} ${p} ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
    }
    if (s.kind === 'calendar') {
      j.calendars++;
      if (t && s.components.join() === t.components.join()) j.componentsKept++;
      else if (t) note(`${s.name} components ${s.components.join(',')} → ${t.components.join(',') || '(none listed)'}`);
    }
    const objects = t?.kind === s.kind ? t.objects : new Map<string, { data: string }>();
    for (const [uid, o] of s.objects) {
      j.source++;
      const there = objects.get(uid);
      if (!there) {
        j.missing++;
        continue;
      }
      j.present++;
      const want = canonical(o.data);
      if (want !== undefined && want === canonical(there.data)) j.identical++;
      else {
        j.different++;
        note(`${s.name} UID ${uid} differs`);
      }
    }
    j.extra += [...objects.keys()].filter((u) => !s.objects.has(u)).length + (t?.duplicates ?? 0);
  }
  return j;
}

/** uid → ETag of every object of every collection, to see that the source did not change. */
export function etagsOf(snapshot: CollectionSnapshot[]): Map<string, string> {
  return new Map(snapshot.flatMap((c) => [...c.objects].map(([uid, o]): [string, string] => [`${c.name}/${uid}`, o.etag])));
}
