// The calendar copy's errors: CF_ERR_CALDAV (a server error or refusal), CF_ERR_CALDAV_AUTH
// (the service account lacks rights), CF_ERR_CALDAV_TIMEOUT, CF_ERR_CALDAV_DISCOVERY (no
// home found), CF_ERR_CALENDAR_LIMIT (more refused objects than the bad item limit). Each
// names the server URL, the user's home or the collection.
import { CrossforestError } from '../util/errors.ts';

export class CalendarCopyError extends CrossforestError {}
