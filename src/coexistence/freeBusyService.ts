// Free/busy across organizations: for each address, the organization that holds the
// mailbox now (MailboxLocator) and that organization's CalDAV server give the busy
// periods, merged into the seed's fbdata digits. One person's failure is that
// person's "4" (no data) with the reason, never the whole answer's.
import pLimit from 'p-limit';
import type { Logger } from '../util/logger.ts';
import type { CalendarReader } from './calendarReader.ts';
import { noData, toFbData } from './freeBusySlots.ts';
import { normalizeAddress } from './mailboxLocator.ts';
import type { FreeBusyWindow, MailboxLocator, PersonFreeBusy } from './types.ts';

export class FreeBusyService {
  readonly #locator: MailboxLocator;
  readonly #readers: Map<string, CalendarReader>;
  readonly #log: Logger;

  constructor(locator: MailboxLocator, readers: CalendarReader[], log: Logger) {
    this.#locator = locator;
    this.#readers = new Map(readers.map((r) => [r.org, r]));
    this.#log = log;
  }

  async lookup(addresses: string[], w: FreeBusyWindow): Promise<PersonFreeBusy[]> {
    const limit = pLimit(4);
    return Promise.all(addresses.map((a) => limit(() => this.#one(normalizeAddress(a), w))));
  }

  async #one(address: string, w: FreeBusyWindow): Promise<PersonFreeBusy> {
    const where = await this.#locator.locate(address);
    if (!where)
      return { address, displayName: null, org: null, fbdata: noData(w), error: 'no organization holds a mailbox for this address' };
    const reader = this.#readers.get(where.org);
    const base = { address, displayName: where.displayName, org: where.org };
    if (!reader) return { ...base, fbdata: noData(w), error: `organization ${where.org} has no CalDAV server configured` };
    try {
      const calendars = await reader.calendars(where.login);
      if (calendars.length === 0) return { ...base, fbdata: noData(w), error: 'this person has no calendar' };
      const periods = await reader.busyPeriods(where.login, w.start, w.end);
      return { ...base, fbdata: toFbData(periods, w) };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#log.warn({ address, org: where.org, err: message }, 'free/busy unavailable');
      return { ...base, fbdata: noData(w), error: message };
    }
  }
}
