// One organization's CalDAV/CardDAV server as the copy sees it: a user's home and its
// collections, ETag listings, sync-collection (RFC 6578), multiget, and PUT/DELETE of one
// object, as the configured service account. The WebDAV requests are tsdav's (propfind,
// syncCollection, calendarMultiGet, addressBookMultiGet, makeCalendar, makeCollection,
// createObject / updateObject / deleteObject, davRequest for PROPPATCH); this file only
// adds authentication, timeouts and errors that name the server, user and collection.
import {
  addressBookMultiGet,
  calendarMultiGet,
  createObject,
  type DAVResponse,
  davRequest,
  deleteObject,
  makeCalendar,
  propfind,
  syncCollection,
} from 'tsdav';
import type { CalendarServerConfig } from '../config/calendar.ts';
import { resolveSecret } from '../config/secret.ts';
import { CalendarCopyError } from './errors.ts';
import type { CollectionInfo, CollectionKind, DavObject } from './types.ts';

const COLLECTION_PROPS = {
  'd:resourcetype': {},
  'd:displayname': {},
  'ca:calendar-color': {},
  'c:calendar-description': {},
  'card:addressbook-description': {},
  'c:supported-calendar-component-set': {},
  'd:sync-token': {},
};

/** A text value of a tsdav prop (string, number, or `{ _text }` / `{ _cdata }`). */
function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  const o = v as { _text?: unknown; _cdata?: unknown };
  if (o._cdata !== undefined) return String(o._cdata);
  if (o._text !== undefined) return String(o._text);
  return undefined;
}

/** iCalendar and vCard lines end in CRLF; an XML parser hands calendar-data back with LF. */
export const crlf = (data: string): string => data.replace(/\r?\n/g, '\r\n');

function components(v: unknown): string[] {
  const comp = (v as { comp?: unknown } | undefined)?.comp;
  return [comp ?? []]
    .flat()
    .map((c) => (c as { _attributes?: { name?: string } })._attributes?.name)
    .filter((n): n is string => Boolean(n));
}

export class DavServer {
  readonly org: string;
  readonly url: string;
  readonly #cfg: CalendarServerConfig;
  readonly #auth: string;
  #serviceHome: string | undefined;

  constructor(org: string, cfg: CalendarServerConfig, baseDir: string) {
    this.org = org;
    this.#cfg = cfg;
    this.url = cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`;
    const password = resolveSecret(cfg.password, baseDir, `organizations.${org}.calendar.password`);
    this.#auth = `Basic ${Buffer.from(`${cfg.user}:${password}`).toString('base64')}`;
  }

  get concurrency(): number {
    return this.#cfg.concurrency;
  }

  #opts() {
    return { headers: { authorization: this.#auth }, fetchOptions: { signal: AbortSignal.timeout(this.#cfg.timeoutMs) } };
  }

  fail(what: string, object: string, err: unknown): CalendarCopyError {
    const e = err as Error;
    const timeout = e?.name === 'TimeoutError' || e?.name === 'AbortError';
    return new CalendarCopyError(
      timeout ? 'CF_ERR_CALDAV_TIMEOUT' : 'CF_ERR_CALDAV',
      `${what}: ${this.url}: ${timeout ? `no answer within ${this.#cfg.timeoutMs} ms` : (e?.message ?? String(err))}`,
      { object, hint: `check organizations.${this.org}.calendar (url, user, password) and that the server runs`, cause: err },
    );
  }

  #refused(what: string, object: string, r: { status: number; statusText?: string }): CalendarCopyError {
    const auth = r.status === 401 || r.status === 403;
    return new CalendarCopyError(
      auth ? 'CF_ERR_CALDAV_AUTH' : 'CF_ERR_CALDAV',
      `${what}: ${object}: HTTP ${r.status}${r.statusText ? ` ${r.statusText}` : ''}`,
      {
        object,
        hint: auth
          ? `the service account ${this.#cfg.user} (organizations.${this.org}.calendar.user) needs rights on every user's collections`
          : `check organizations.${this.org}.calendar and the server's log`,
      },
    );
  }

  /** The service account's own home (discovery: current-user-principal, then its calendar-home-set). */
  async #ownHome(): Promise<string> {
    if (this.#serviceHome) return this.#serviceHome;
    const principal = await this.#prop(new URL('.well-known/caldav', this.url).href, 'd:current-user-principal', 'currentUserPrincipal');
    const home = await this.#prop(new URL(principal ?? '/', this.url).href, 'c:calendar-home-set', 'calendarHomeSet');
    if (!home)
      throw new CalendarCopyError('CF_ERR_CALDAV_DISCOVERY', `${this.url} names no calendar home for ${this.#cfg.user}`, {
        object: this.url,
        hint: `give organizations.${this.org}.calendar.home, e.g. "/{login}/"`,
      });
    this.#serviceHome = new URL(home, this.url).href;
    return this.#serviceHome;
  }

  async #prop(url: string, prop: string, key: string): Promise<string | undefined> {
    let res: DAVResponse[];
    try {
      res = await propfind({ url, depth: '0', props: { [prop]: {} }, ...this.#opts() });
    } catch (err) {
      throw this.fail(`discover ${prop}`, url, err);
    }
    const r = res.find((x) => x.ok) ?? res[0];
    if (!r?.ok) throw this.#refused(`discover ${prop}`, url, r ?? { status: 0 });
    const v = r.props?.[key] as { href?: unknown } | undefined;
    return text(v?.href ?? v);
  }

  /** `check`: the server answers and the service account logs in; returns its principal (or the home template). */
  async probe(): Promise<string> {
    if (this.#cfg.home) {
      const url = this.url;
      let res: DAVResponse[];
      try {
        res = await propfind({ url, depth: '0', props: { 'd:current-user-principal': {} }, ...this.#opts() });
      } catch (err) {
        throw this.fail('log in', url, err);
      }
      const r = res[0];
      if (!r?.ok) throw this.#refused('log in', url, r ?? { status: 0 });
      return `homes ${this.#cfg.home}`;
    }
    return `home ${await this.#ownHome()}`;
  }

  /** A user's home: `home` with {login}, else the service account's home with its name replaced by the login. */
  async homeOf(login: string): Promise<string> {
    const enc = encodeURIComponent(login);
    if (this.#cfg.home) return new URL(this.#cfg.home.replaceAll('{login}', enc), this.url).href;
    const own = await this.#ownHome();
    const name = encodeURIComponent(this.#cfg.user);
    if (!own.endsWith(`/${name}/`))
      throw new CalendarCopyError('CF_ERR_CALDAV_DISCOVERY', `the service account's home ${own} does not end in its name`, {
        object: own,
        hint: `give organizations.${this.org}.calendar.home, where a user's collections are, e.g. "/calendars/{login}/"`,
      });
    return `${own.slice(0, -(name.length + 1))}${enc}/`;
  }

  /** The calendar, task-list and address-book collections in a home; [] when the home does not exist. */
  async collections(home: string): Promise<CollectionInfo[]> {
    let res: DAVResponse[];
    try {
      res = await propfind({ url: home, depth: '1', props: COLLECTION_PROPS, ...this.#opts() });
    } catch (err) {
      throw this.fail('list the collections', home, err);
    }
    if (res.length === 1 && res[0]?.status === 404) return [];
    const denied = res.find((r) => r.status === 401 || r.status === 403);
    if (denied) throw this.#refused('list the collections', home, denied);
    const out: CollectionInfo[] = [];
    for (const r of res) {
      if (!r.ok || !r.href) continue;
      const types = Object.keys((r.props?.resourcetype as object) ?? {});
      const kind: CollectionKind | undefined = types.includes('calendar')
        ? 'calendar'
        : types.includes('addressbook')
          ? 'addressbook'
          : undefined;
      if (!kind) continue;
      const url = new URL(r.href, home).href;
      out.push({
        url,
        name: decodeURIComponent(url.replace(/\/$/, '').split('/').pop() ?? ''),
        kind,
        displayName: text(r.props?.displayname),
        color: text(r.props?.calendarColor),
        description: text(kind === 'calendar' ? r.props?.calendarDescription : r.props?.addressbookDescription),
        components: kind === 'calendar' ? components(r.props?.supportedCalendarComponentSet) : [],
        syncToken: text(r.props?.syncToken),
      });
    }
    return out;
  }

  /** Every object's href and ETag (the fallback when sync-collection is not offered). */
  async etags(collection: string): Promise<Map<string, string>> {
    let res: DAVResponse[];
    try {
      res = await propfind({ url: collection, depth: '1', props: { 'd:getetag': {}, 'd:resourcetype': {} }, ...this.#opts() });
    } catch (err) {
      throw this.fail('list the objects', collection, err);
    }
    const out = new Map<string, string>();
    for (const r of res) {
      if (!r.ok || !r.href) continue;
      const url = new URL(r.href, collection).href;
      if (url === collection) continue;
      out.set(url, text(r.props?.getetag) ?? '');
    }
    return out;
  }

  /** Changes since `token` (RFC 6578); undefined when the server refuses the token or the report. */
  async changesSince(collection: string, token: string): Promise<{ changed: string[]; deleted: string[]; token: string } | undefined> {
    let res: DAVResponse[];
    try {
      res = await syncCollection({ url: collection, props: { 'd:getetag': {} }, syncLevel: 1, syncToken: token, ...this.#opts() });
    } catch {
      return undefined; // an invalid token (403 valid-sync-token) or no sync-collection: list ETags instead
    }
    if (res.some((r) => !r.href && r.status >= 400)) return undefined;
    const next = text((res[0]?.raw as { multistatus?: { syncToken?: unknown } } | undefined)?.multistatus?.syncToken);
    const objects = res.filter((r) => r.href && new URL(r.href, collection).href !== collection);
    return {
      changed: objects.filter((r) => r.status !== 404).map((r) => new URL(r.href as string, collection).href),
      deleted: objects.filter((r) => r.status === 404).map((r) => new URL(r.href as string, collection).href),
      token: next ?? token,
    };
  }

  /** The objects at `urls`, text as stored (CRLF), in chunks of 100 per REPORT. */
  async multiget(collection: string, kind: CollectionKind, urls: readonly string[]): Promise<DavObject[]> {
    const out: DavObject[] = [];
    for (let i = 0; i < urls.length; i += 100) {
      const chunk = urls.slice(i, i + 100).map((u) => new URL(u).pathname);
      let res: DAVResponse[];
      try {
        res =
          kind === 'calendar'
            ? await calendarMultiGet({
                url: collection,
                depth: '1',
                props: { 'd:getetag': {}, 'c:calendar-data': {} },
                objectUrls: chunk,
                ...this.#opts(),
              })
            : await addressBookMultiGet({
                url: collection,
                depth: '1',
                props: { 'd:getetag': {}, 'card:address-data': {} },
                objectUrls: chunk,
                ...this.#opts(),
              });
      } catch (err) {
        throw this.fail('read the objects', collection, err);
      }
      for (const r of res) {
        if (!r.href || !r.ok) continue;
        const data = text(kind === 'calendar' ? r.props?.calendarData : r.props?.addressData);
        if (data === undefined) continue;
        out.push({ url: new URL(r.href, collection).href, etag: text(r.props?.getetag) ?? '', data: crlf(data) });
      }
    }
    return out;
  }

  /** Every object of a collection: its listing, then multiget. */
  async everything(collection: string, kind: CollectionKind): Promise<DavObject[]> {
    return this.multiget(collection, kind, [...(await this.etags(collection)).keys()]);
  }

  /** Creates a collection with the source's name and properties. */
  async create(url: string, c: CollectionInfo): Promise<void> {
    const props: Record<string, unknown> = {};
    if (c.displayName) props['d:displayname'] = c.displayName;
    let res: DAVResponse[];
    try {
      if (c.kind === 'calendar') {
        if (c.color) props['ca:calendar-color'] = c.color;
        if (c.description) props['c:calendar-description'] = c.description;
        if (c.components.length)
          props['c:supported-calendar-component-set'] = { 'c:comp': c.components.map((name) => ({ _attributes: { name } })) };
        res = await makeCalendar({ url, props, ...this.#opts() });
      } else {
        if (c.description) props['card:addressbook-description'] = c.description;
        res = await this.#mkcol(url, { 'd:resourcetype': { 'd:collection': {}, 'card:addressbook': {} }, ...props });
      }
    } catch (err) {
      throw this.fail(`create ${c.kind} ${c.name}`, url, err);
    }
    const bad = res.find((r) => r.status >= 400);
    if (bad && bad.status !== 405) throw this.#refused(`create ${c.kind} ${c.name}`, url, bad); // 405: it exists already
  }

  /** MKCOL, extended (RFC 5689) when given properties: tsdav has it but does not export it. */
  #mkcol(url: string, props?: Record<string, unknown>): Promise<DAVResponse[]> {
    const { headers, fetchOptions } = this.#opts();
    return davRequest({
      url,
      init: {
        method: 'MKCOL',
        headers,
        namespace: 'd',
        body: props
          ? {
              mkcol: {
                _attributes: {
                  'xmlns:d': 'DAV:',
                  'xmlns:card': 'urn:ietf:params:xml:ns:carddav',
                  'xmlns:c': 'urn:ietf:params:xml:ns:caldav',
                },
                set: { prop: props },
              },
            }
          : undefined,
      },
      fetchOptions,
    });
  }

  /** Makes a user's home (a plain collection) that nobody has opened yet; one that exists is left alone. */
  async ensureHome(home: string): Promise<void> {
    let res: DAVResponse[];
    try {
      res = await this.#mkcol(home);
    } catch (err) {
      throw this.fail('create the home', home, err);
    }
    const bad = res.find((r) => r.status >= 400);
    if (bad && bad.status !== 405) throw this.#refused('create the home', home, bad);
  }

  /** Puts the source's display name, colour and description on an existing collection. */
  async setProperties(url: string, c: CollectionInfo): Promise<void> {
    const set: Record<string, unknown> = {};
    if (c.displayName) set['d:displayname'] = c.displayName;
    if (c.kind === 'calendar' && c.color) set['ca:calendar-color'] = c.color;
    if (c.description) set[c.kind === 'calendar' ? 'c:calendar-description' : 'card:addressbook-description'] = c.description;
    if (Object.keys(set).length === 0) return;
    try {
      await davRequest({
        url,
        init: {
          method: 'PROPPATCH',
          headers: this.#opts().headers,
          namespace: 'd',
          body: {
            propertyupdate: {
              _attributes: {
                'xmlns:d': 'DAV:',
                'xmlns:c': 'urn:ietf:params:xml:ns:caldav',
                'xmlns:card': 'urn:ietf:params:xml:ns:carddav',
                'xmlns:ca': 'http://apple.com/ns/ical/',
              },
              set: { prop: set },
            },
          },
        },
        fetchOptions: this.#opts().fetchOptions,
      });
    } catch (err) {
      throw this.fail(`set the properties of ${c.name}`, url, err);
    }
  }

  /** Writes one object (a PUT, new or over the old copy); a refusal (4xx) is returned with the server's words, anything else thrown. */
  async put(
    url: string,
    kind: CollectionKind,
    data: string,
  ): Promise<{ ok: true; etag: string } | { ok: false; status: number; reason: string }> {
    const headers = {
      ...this.#opts().headers,
      'content-type': kind === 'calendar' ? 'text/calendar; charset=utf-8' : 'text/vcard; charset=utf-8',
    };
    let r: Response;
    try {
      r = await createObject({ url, data, headers, fetchOptions: this.#opts().fetchOptions });
    } catch (err) {
      throw this.fail('write an object', url, err);
    }
    if (r.ok) return { ok: true, etag: r.headers.get('etag') ?? '' };
    const body = (await r.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 300);
    if (r.status === 401 || r.status === 403 || r.status >= 500)
      throw this.#refused('write an object', url, { status: r.status, statusText: body || r.statusText });
    return { ok: false, status: r.status, reason: `HTTP ${r.status} ${r.statusText}${body ? `: ${body}` : ''}` };
  }

  async remove(url: string): Promise<void> {
    let r: Response;
    try {
      r = await deleteObject({ url, ...this.#opts() });
    } catch (err) {
      throw this.fail('delete an object', url, err);
    }
    if (!r.ok && r.status !== 404) throw this.#refused('delete an object', url, r);
  }
}
