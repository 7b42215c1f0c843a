// The seed's mobile URL shape, /public/?Cmd=freebusy|galfind, answered in the XML shape
// Exchange 2003's /public virtual directory used (namespace "WM"): one <a:item> per
// recipient with its <a:fbdata> digits, preceded by an "All Attendees" item that merges
// everyone (the strongest known level per slot). Every value is escaped.
import { FB_NO_DATA, type GalPage, type PersonFreeBusy } from './types.ts';
import { escapeXml as x } from './xml.ts';

/** Per slot, the strongest level among the people with data; 4 where nobody has data. */
export function mergeAttendees(fbdata: string[]): string {
  const n = Math.max(0, ...fbdata.map((s) => s.length));
  let out = '';
  for (let i = 0; i < n; i++) {
    let level = -1;
    for (const s of fbdata) {
      const d = Number(s[i] ?? FB_NO_DATA);
      if (d !== FB_NO_DATA && d > level) level = d;
    }
    out += level < 0 ? String(FB_NO_DATA) : String(level);
  }
  return out;
}

export function freeBusyXml(people: PersonFreeBusy[]): string {
  const items = people
    .map(
      (p) => `    <a:item>
      <a:displayname>${x(p.displayName ?? p.address)}</a:displayname>
      <a:email type="SMTP">${x(p.address)}</a:email>
      <a:type>1</a:type>
      <a:fbdata>${x(p.fbdata)}</a:fbdata>
    </a:item>
`,
    )
    .join('');
  return `<?xml version="1.0" encoding="utf-8"?>
<a:response xmlns:a="WM">
  <a:recipients>
    <a:item>
      <a:displayname>All Attendees</a:displayname>
      <a:type>1</a:type>
      <a:fbdata>${x(mergeAttendees(people.map((p) => p.fbdata)))}</a:fbdata>
    </a:item>
${items}  </a:recipients>
</a:response>
`;
}

export function galFindXml(page: GalPage): string {
  const el = (name: string, v: string | null) => (v === null ? '' : `      <a:${name}>${x(v)}</a:${name}>\n`);
  const items = page.entries
    .map(
      (e) =>
        `    <a:item>\n${el('DN', e.displayName)}${el('TL', e.title)}${el('CP', e.company)}${el('OFFICE', e.office)}${el('PH', e.phone)}${el('MOBILE', e.mobile)}${el('AN', e.alias)}${el('EM', e.email)}${el('ORG', e.mailboxOrg)}    </a:item>\n`,
    )
    .join('');
  return `<?xml version="1.0" encoding="utf-8"?>
<a:response xmlns:a="WM" total="${page.total}" offset="${page.offset}">
${items}</a:response>
`;
}
