// objectSid: the binary SID (MS-DTYP 2.4.2) ⇄ its `S-1-5-21-…-RID` text. The RID (last
// sub-authority) is what primaryGroupID refers to; the domain SID is all but the RID.
import { DirectoryError } from '../errors.ts';

function invalid(what: string): DirectoryError {
  return new DirectoryError('CF_ERR_AD_SID', `not a security identifier (objectSid): ${what}`, {
    object: what,
    hint: 'request objectSid as a binary attribute; text SIDs look like S-1-5-21-1004336348-1177238915-682003330-512',
  });
}

export function sidToString(bytes: Buffer | Uint8Array): string {
  const b = Buffer.from(bytes);
  if (b.length < 8) throw invalid(`${b.length} bytes`);
  const revision = b.readUInt8(0);
  const count = b.readUInt8(1);
  if (revision !== 1 || count > 15 || b.length !== 8 + 4 * count)
    throw invalid(`revision ${revision}, ${count} sub-authorities in ${b.length} bytes`);
  const authority = b.readUIntBE(2, 6);
  const subs: number[] = [];
  for (let i = 0; i < count; i++) subs.push(b.readUInt32LE(8 + 4 * i));
  return ['S', revision, authority, ...subs].join('-');
}

export function sidToBytes(text: string): Buffer {
  const m = /^S-1-(\d{1,15})((?:-\d{1,10}){0,15})$/i.exec(text.trim());
  if (!m) throw invalid(JSON.stringify(text.slice(0, 80)));
  const authority = Number(m[1]);
  const subs = (m[2] ?? '')
    .split('-')
    .filter((s) => s !== '')
    .map(Number);
  if (!Number.isSafeInteger(authority) || authority >= 2 ** 48 || subs.some((s) => s > 0xffffffff))
    throw invalid(JSON.stringify(text.slice(0, 80)));
  const b = Buffer.alloc(8 + 4 * subs.length);
  b.writeUInt8(1, 0);
  b.writeUInt8(subs.length, 1);
  b.writeUIntBE(authority, 2, 6);
  for (const [i, s] of subs.entries()) b.writeUInt32LE(s, 8 + 4 * i);
  return b;
}

/** The relative identifier: the last sub-authority (513 = Domain Users, 500 = Administrator). */
export function sidRid(sid: string): number {
  const last = sid.split('-').at(-1);
  const rid = Number(last);
  if (!/^S-1-/i.test(sid) || !Number.isInteger(rid)) throw invalid(JSON.stringify(sid.slice(0, 80)));
  return rid;
}
