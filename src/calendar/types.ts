// Glossary of the calendar copy:
// - collection: a calendar (VEVENT and/or VTODO: a task list is a calendar of VTODOs) or an
//   address book, one folder of a user's CalDAV/CardDAV home;
// - object: one resource in a collection, an iCalendar text (an event with its exceptions,
//   a task) or a vCard, keyed by its UID;
// - home: the folder that holds a user's collections (Radicale: /<login>/).
export type CollectionKind = 'calendar' | 'addressbook';

export interface CollectionInfo {
  url: string;
  /** The last path segment: the target collection gets the same name. */
  name: string;
  kind: CollectionKind;
  displayName: string | undefined;
  color: string | undefined;
  description: string | undefined;
  /** VEVENT, VTODO … (calendars); [] = the server's default. */
  components: string[];
  syncToken: string | undefined;
}

export interface DavObject {
  url: string;
  etag: string;
  /** The text as the server stores it, CRLF line ends. */
  data: string;
}

export interface CalendarSkipped {
  collection: string;
  uid: string;
  /** The server's refusal, e.g. "HTTP 413 Request Entity Too Large: …". */
  reason: string;
}

export interface CollectionCopyReport {
  name: string;
  kind: CollectionKind;
  created: boolean;
  /** Objects in the source collection now. */
  objects: number;
  copied: number;
  updated: number;
  unchanged: number;
  /** Deleted on the source since the last pass: removed on the target only with deleteOnTarget. */
  deletedOnSource: number;
  deletedOnTarget: number;
  skipped: CalendarSkipped[];
  /** How changes were found: sync-collection (RFC 6578), ETag listing, or a first full read. */
  method: 'sync-collection' | 'etags' | 'full';
}

export interface CalendarCopyReport {
  sourceLogin: string;
  targetLogin: string;
  collections: CollectionCopyReport[];
  totals: { events: number; contacts: number; copied: number; updated: number; skipped: number; deletedOnTarget: number };
  ms: number;
}

export interface CalendarVerifyReport {
  sourceLogin: string;
  targetLogin: string;
  collections: { name: string; kind: CollectionKind; source: number; intact: number; missing: string[]; different: string[] }[];
  /** Calendar objects (events, tasks) and vCards, each: on the source, and intact on the target. */
  calendarItems: { source: number; intact: number };
  contactItems: { source: number; intact: number };
  ok: boolean;
}
