// XML in and out of the autoconfiguration endpoints. Out: every value escaped. In: the
// Autodiscover request is read with a deliberately tiny grammar (one EMailAddress
// element), refusing DTDs and entities outright, so no XML-parser attack surface
// (billion laughs, external entities) exists at all.

export function escapeXml(value: string | number): string {
  return stripInvalidXmlChars(String(value))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** XML 1.0 cannot carry C0 controls other than tab, LF, CR (nor U+FFFE/U+FFFF): drop them. */
function stripInvalidXmlChars(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffe || c === 0xffff) continue;
    out += ch;
  }
  return out;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The EMailAddress of an Outlook POX Autodiscover request, or null (caller answers 400). */
export function autodiscoverEmail(body: string): string | null {
  if (body.length > 16_384 || /<!DOCTYPE|<!ENTITY/i.test(body)) return null;
  const matches = [...body.matchAll(/<(?:[A-Za-z][\w.-]*:)?EMailAddress>([^<]{1,320})<\/(?:[A-Za-z][\w.-]*:)?EMailAddress>/g)];
  if (matches.length !== 1) return null;
  const raw = matches[0]?.[1] ?? '';
  let bad = false;
  const value = raw.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]+);?/gi, (m, name: string) => {
    if (name.startsWith('#')) {
      const cp = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
      if (!m.endsWith(';') || cp > 0x10ffff || cp < 0x20) {
        bad = true;
        return '';
      }
      return String.fromCodePoint(cp);
    }
    const v = ENTITIES[name.toLowerCase()];
    if (v === undefined || !m.endsWith(';')) bad = true;
    return v ?? '';
  });
  return bad ? null : value.trim();
}
