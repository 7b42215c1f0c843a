// objectGUID is 16 raw bytes; Active Directory shows it as a GUID string whose first
// three groups are little-endian (the Windows GUID layout). We keep the string form as
// the connector-space anchor, and turn it back into bytes (escaped) to search by it.

export function guidFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`an objectGUID has 16 bytes, got ${bytes.length}`);
  const h = (i: number) => (bytes[i] as number).toString(16).padStart(2, '0');
  const g = (idx: number[]) => idx.map(h).join('');
  return `${g([3, 2, 1, 0])}-${g([5, 4])}-${g([7, 6])}-${g([8, 9])}-${g([10, 11, 12, 13, 14, 15])}`;
}

export function bytesFromGuid(guid: string): Buffer {
  const hex = guid.replace(/[{}]/g, '');
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(hex)) throw new SyntaxError(`not a GUID: ${guid}`);
  const b = Buffer.from(hex.replaceAll('-', ''), 'hex');
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return Buffer.from(order.map((i) => b[i] as number));
}

/** `\xx\yy…` form of raw bytes, for an equality filter on a binary attribute. */
export function escapeBinaryFilterValue(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
}
