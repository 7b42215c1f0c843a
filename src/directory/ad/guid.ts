// objectGUID: 16 bytes on the wire, shown by AD tools in the mixed-endian GUID text
// form (MS-DTYP 2.3.4: Data1 uint32, Data2 and Data3 uint16 little-endian, Data4 as
// bytes), so `{c5e2f7a0-…}` in ADUC and in our logs is the same object.
import { EqualityFilter } from 'ldapts';
import { DirectoryError } from '../errors.ts';

const GUID_TEXT = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

function invalid(what: string, hint: string): DirectoryError {
  return new DirectoryError('CF_ERR_AD_GUID', `not an objectGUID: ${what}`, { object: what, hint });
}

/** 16 raw bytes → `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lower case). */
export function guidToString(bytes: Buffer | Uint8Array): string {
  const b = Buffer.from(bytes);
  if (b.length !== 16)
    throw invalid(
      `${b.length} bytes (${b.toString('hex').slice(0, 40)})`,
      'objectGUID is exactly 16 bytes: request it as a binary attribute',
    );
  const hex = (from: number, to: number, reverse: boolean) => {
    const part = Buffer.from(b.subarray(from, to));
    return (reverse ? part.reverse() : part).toString('hex');
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}`;
}

/** `xxxxxxxx-xxxx-…` (braces allowed) → the 16 bytes AD stores. */
export function guidToBytes(text: string): Buffer {
  const m = GUID_TEXT.exec(text.trim());
  if (!m)
    throw invalid(
      JSON.stringify(text.slice(0, 60)),
      'write a GUID as 8-4-4-4-12 hexadecimal digits, e.g. 0f3c2a10-6b1d-4e2f-9a8b-1c2d3e4f5a6b',
    );
  const [, d1, d2, d3, d4, d5] = m as unknown as [string, string, string, string, string, string];
  return Buffer.concat([
    Buffer.from(d1, 'hex').reverse(),
    Buffer.from(d2, 'hex').reverse(),
    Buffer.from(d3, 'hex').reverse(),
    Buffer.from(d4, 'hex'),
    Buffer.from(d5, 'hex'),
  ]);
}

/**
 * A search filter matching one objectGUID. It must be a Filter object carrying the
 * bytes: ldapts turns `\\xx` escapes of a filter *string* into characters and sends
 * them as UTF-8, so any byte ≥ 0x80 no longer matches. (AD also accepts the base DN
 * `<GUID=…>` for a base search by GUID.)
 */
export function guidFilter(guid: Buffer | string): EqualityFilter {
  return new EqualityFilter({ attribute: 'objectGUID', value: typeof guid === 'string' ? guidToBytes(guid) : guid });
}
