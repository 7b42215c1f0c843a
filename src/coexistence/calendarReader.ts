// Reads one person's busy periods from their organization's CalDAV server as the
// service account. First an RFC 4791 free-busy-query REPORT; a server that does not
// answer it with text/calendar (Radicale 3.1 answers an empty multistatus) is
// remembered, and from then on a calendar-query REPORT with a time-range filter fetches
// the events, which ical.js expands (recurrences included). Every request has a timeout.
import { calendarQuery, type DAVResponse, freeBusyQuery, propfind } from 'tsdav';
import type { CaldavConfig } from '../config/coexistence.ts';
import { resolveSecret } from '../config/secret.ts';
import { CrossforestError } from '../util/errors.ts';
import { busyFromEvents, busyFromFreeBusy } from './icalBusy.ts';
import type { BusyPeriod } from './types.ts';

export class CalendarError extends CrossforestError {}

/** How busy periods were obtained, per server (reported by `serve` and the tests). */
export type FreeBusyMethod = 'free-busy-query' | 'calendar-query';

function caldavStamp(t: number): string {
  return `${new Date(t).toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

export class CalendarReader {
  readonly org: string;
  readonly #cfg: CaldavConfig;
  readonly #auth: string;
  #freeBusySupported: boolean | undefined;

  constructor(org: string, cfg: CaldavConfig, baseDir: string) {
    this.org = org;
    this.#cfg = cfg;
    const password = resolveSecret(cfg.password, baseDir, `coexistence.organizations.${org}.caldav.password`);
    this.#auth = `Basic ${Buffer.from(`${cfg.user}:${password}`).toString('base64')}`;
  }

  get method(): FreeBusyMethod | 'unknown' {
    return this.#freeBusySupported === undefined ? 'unknown' : this.#freeBusySupported ? 'free-busy-query' : 'calendar-query';
  }

  #opts() {
    return { headers: { authorization: this.#auth }, fetchOptions: { signal: AbortSignal.timeout(this.#cfg.timeoutMs) } };
  }

  #fail(what: string, err: unknown): CalendarError {
    const e = err as Error;
    const timeout = e?.name === 'TimeoutError' || e?.name === 'AbortError';
    return new CalendarError(
      timeout ? 'CF_ERR_CALDAV_TIMEOUT' : 'CF_ERR_CALDAV',
      `${what} on ${this.#cfg.url}: ${timeout ? 'no answer in time' : (e?.message ?? String(err))}`,
      {
        object: this.#cfg.url,
        hint: `check coexistence.organizations.${this.org}.caldav (url, user, password) and that the server runs`,
        cause: err,
      },
    );
  }

  /** Calendar collections (VEVENT) under the person's calendar home `<url><login>/`; [] when there is none. */
  async calendars(login: string): Promise<string[]> {
    const home = new URL(`${encodeURIComponent(login)}/`, this.#cfg.url.endsWith('/') ? this.#cfg.url : `${this.#cfg.url}/`).href;
    let res: DAVResponse[];
    try {
      res = await propfind({
        url: home,
        depth: '1',
        props: { 'd:resourcetype': {}, 'c:supported-calendar-component-set': {} },
        ...this.#opts(),
      });
    } catch (err) {
      throw this.#fail(`list the calendars of ${login}`, err);
    }
    if (res.length === 1 && res[0]?.status === 404) return [];
    if (res.length === 1 && (res[0]?.status === 401 || res[0]?.status === 403)) {
      throw new CalendarError(
        'CF_ERR_CALDAV_AUTH',
        `the CalDAV service account ${this.#cfg.user} may not read ${home} (HTTP ${res[0]?.status})`,
        {
          object: home,
          hint: `give coexistence.organizations.${this.org}.caldav.user read access to every calendar, and check its password`,
        },
      );
    }
    return res
      .filter((r) => r.ok && r.href && r.props?.resourcetype && 'calendar' in (r.props.resourcetype as object))
      .map((r) => new URL(r.href as string, home).href);
  }

  async busyPeriods(login: string, start: number, end: number): Promise<BusyPeriod[]> {
    const out: BusyPeriod[] = [];
    for (const url of await this.calendars(login)) out.push(...(await this.#calendarBusy(url, start, end)));
    return out;
  }

  async #calendarBusy(url: string, start: number, end: number): Promise<BusyPeriod[]> {
    if (this.#freeBusySupported !== false) {
      let res: DAVResponse | undefined;
      try {
        res = await freeBusyQuery({
          url,
          depth: '1',
          timeRange: { start: new Date(start).toISOString(), end: new Date(end).toISOString() },
          ...this.#opts(),
        });
      } catch (err) {
        // An empty multistatus (Radicale 3.1: REPORT not understood) makes tsdav throw this.
        if (!/returned no response/.test((err as Error)?.message ?? '')) throw this.#fail(`free-busy-query ${url}`, err);
      }
      const raw = typeof res?.raw === 'string' ? res.raw : '';
      // tsdav keeps at most 4 KiB of a non-XML answer: a longer VFREEBUSY ends in `…`, so use the event query then.
      if (res?.status === 200 && raw.startsWith('BEGIN:VCALENDAR') && raw.trimEnd().endsWith('END:VCALENDAR')) {
        this.#freeBusySupported = true;
        return busyFromFreeBusy(raw, start, end);
      }
      if (this.#freeBusySupported === undefined && !(res?.status === 200 && raw.startsWith('BEGIN:VCALENDAR')))
        this.#freeBusySupported = false;
    }
    let res: DAVResponse[];
    try {
      res = await calendarQuery({
        url,
        depth: '1',
        props: { 'c:calendar-data': {} },
        filters: {
          'comp-filter': {
            _attributes: { name: 'VCALENDAR' },
            'comp-filter': {
              _attributes: { name: 'VEVENT' },
              'time-range': { _attributes: { start: caldavStamp(start), end: caldavStamp(end) } },
            },
          },
        },
        ...this.#opts(),
      });
    } catch (err) {
      throw this.#fail(`calendar-query ${url}`, err);
    }
    const texts = res.flatMap((r) => {
      const data = r.props?.calendarData as unknown;
      const text =
        typeof data === 'string'
          ? data
          : ((data as { _cdata?: string; _text?: string } | undefined)?._cdata ?? (data as { _text?: string } | undefined)?._text);
      return r.ok && typeof text === 'string' ? [text] : [];
    });
    return busyFromEvents(texts, start, end);
  }
}
