// A small seeded PRNG (sfc32 seeded from SHA-256) so the sample organization is the
// same for the same --seed on every machine and every Node version.
import { createHash } from 'node:crypto';

export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  /** true with probability p. */
  chance(p: number): boolean;
}

export function createPrng(...seedParts: string[]): Prng {
  const h = createHash('sha256').update(seedParts.join('\u0000')).digest();
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next(); // let the state mix before use
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (items) => items[int(items.length)] as (typeof items)[number], chance: (p) => next() < p };
}

/** 16 deterministic bytes shaped like a version-4 GUID (AD objectGUID). */
export function deterministicGuid(...parts: string[]): Buffer {
  const b = createHash('sha256')
    .update(`guid\u0000${parts.join('\u0000')}`)
    .digest()
    .subarray(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  return Buffer.from(b);
}

/** ASCII-only lower-case form of a name for sAMAccountName and mail local parts. */
export function asciiFold(s: string): string {
  const special: Record<string, string> = {
    ß: 'ss',
    Ł: 'L',
    ł: 'l',
    Ø: 'O',
    ø: 'o',
    Æ: 'AE',
    æ: 'ae',
    Đ: 'D',
    đ: 'd',
    ı: 'i',
    Œ: 'OE',
    œ: 'oe',
  };
  return s
    .replace(/[ßŁłØøÆæĐđıŒœ]/g, (c) => special[c] ?? c)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}
