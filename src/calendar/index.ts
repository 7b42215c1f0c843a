// Calendars, task lists and address books move with the mailbox (CalDAV / CardDAV): the
// capability's one public entry. `calendarServers` opens both organizations' servers from the
// project file (undefined when either has none: then there is nothing to copy).
import type { OrganizationConfig } from '../config/organization.ts';
import { DavServer } from './dav.ts';

export { type CalendarCopyInput, copyCalendars } from './copy.ts';
export { DavServer } from './dav.ts';
export { CalendarCopyError } from './errors.ts';
export type { CalendarCopyReport, CalendarSkipped, CalendarVerifyReport, CollectionCopyReport } from './types.ts';
export { verifyCalendars } from './verify.ts';

export function calendarServers(
  source: { id: string; org: OrganizationConfig },
  target: { id: string; org: OrganizationConfig },
  baseDir: string,
): { source: DavServer; target: DavServer } | undefined {
  if (!source.org.calendar || !target.org.calendar) return undefined;
  return { source: new DavServer(source.id, source.org.calendar, baseDir), target: new DavServer(target.id, target.org.calendar, baseDir) };
}
