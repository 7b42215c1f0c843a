// The delta watermark of an Active Directory management agent, as kept in the state
// store (sync_watermark, kind `ad`): the DirSync cookie, or — where DirSync is not
// permitted — the DC's highest committed USN with its invocationId. One row per agent,
// so switching between the two never leaves a stale one behind.
import type { AdWatermark } from '../directory/ad/types.ts';

export const AD_WATERMARK_KIND = 'ad';

export function formatAdWatermark(w: AdWatermark): string {
  return JSON.stringify(w);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The stored text → a watermark, or undefined when there is none or it is damaged
 * (hand-edited, truncated): the caller then runs a full import, which re-reads
 * everything and stores a fresh one. A damaged watermark must never skip changes.
 */
export function parseAdWatermark(text: string | undefined): AdWatermark | undefined {
  if (text === undefined || text.length > 1_000_000) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.kind === 'dirsync') {
    const cookie = o.cookie;
    // An empty cookie would silently turn the delta into a full DirSync without obsoletion.
    if (typeof cookie !== 'string' || cookie === '' || !/^[A-Za-z0-9+/]+=*$/.test(cookie)) return undefined;
    return { kind: 'dirsync', cookie };
  }
  if (o.kind === 'usn') {
    const { highestUsn, invocationId } = o;
    if (typeof highestUsn !== 'string' || !/^\d{1,20}$/.test(highestUsn)) return undefined;
    if (typeof invocationId !== 'string' || !GUID.test(invocationId)) return undefined;
    return { kind: 'usn', highestUsn, invocationId: invocationId.toLowerCase() };
  }
  return undefined;
}
