// The comparison verify uses: two iCalendar or vCard texts are the same object when ical.js
// reads them to the same components and properties, in order, with the same values and
// parameters (parameter order and name case, line folding and line ends do not count).
// A server that re-serializes what it stores (Radicale does) passes; a changed value does not.
import ICAL from 'ical.js';

type Jcal = [string, [string, Record<string, unknown>, string, ...unknown[]][], Jcal[]];

function canonicalOf(j: Jcal): unknown {
  const [name, props, comps] = j;
  return [
    name.toLowerCase(),
    props.map(([p, params, type, ...values]) => [
      p.toLowerCase(),
      Object.fromEntries(
        Object.entries(params)
          .map(([k, v]) => [k.toLowerCase(), v] as const)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      ),
      type,
      values,
    ]),
    comps.map(canonicalOf),
  ];
}

/** The canonical form as one string; undefined when the text does not parse. */
export function canonical(data: string): string | undefined {
  try {
    return JSON.stringify(canonicalOf(ICAL.parse(data) as Jcal));
  } catch {
    return undefined;
  }
}

/** The UID of an iCalendar object (every component of one resource shares it) or a vCard. */
export function uidOf(data: string): string | undefined {
  const unfolded = data.replace(/\r?\n[ \t]/g, '');
  return /^UID(?:;[^:\r\n]*)?:(.*)$/im.exec(unfolded)?.[1]?.trim();
}

/** Whether an iCalendar text holds VEVENTs or VTODOs only (for the report's item counts). */
export const isCard = (data: string): boolean => /^BEGIN:VCARD/im.test(data);
