// `organizations.<id>.calendar`: the organization's CalDAV / CardDAV server, from which (or
// into which) a mailbox's calendars, task lists and address books are copied with its mail.
import { z } from 'zod';
import { secretRef } from './secret.ts';

export const calendarServerSchema = z.strictObject({
  /**
   * Base URL of the CalDAV/CardDAV server (http on loopback only; https elsewhere). The
   * service account's home is discovered from it (/.well-known/caldav and carddav, the
   * current-user-principal, its calendar-home-set), and each user's home is found the same way.
   */
  url: z.string().regex(/^https?:\/\/[^\s/]+(:\d+)?(\/\S*)?$/, 'an http(s) URL such as https://cal.example.com/'),
  /** A service account that may read (source) or write (target) every user's collections. */
  user: z.string().min(1),
  password: secretRef,
  /**
   * Where a user's collections live, `{login}` standing for the user's login (URL-encoded),
   * relative to url. Default: the service account's own home with its name replaced by the
   * login (Radicale: `/<login>/`), found by discovery.
   */
  home: z.string().min(1).optional(),
  /** Timeout of every request, in milliseconds. Default 30,000. */
  timeoutMs: z.number().int().positive().default(30_000),
  /** Requests in flight at once per mailbox (PUTs while copying). Default 8. */
  concurrency: z.number().int().min(1).max(64).default(8),
});

export type CalendarServerConfig = z.infer<typeof calendarServerSchema>;
