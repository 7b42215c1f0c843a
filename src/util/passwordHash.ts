// Password hashes (dashboard operators, relay SMTP AUTH accounts): scrypt (node:crypto) in a self-describing, PHC-like string
//   $scrypt$N=131072,r=8,p=1$<salt>$<hash>
// (salt and hash in unpadded standard base64). The parameters travel with the hash, so
// old hashes keep verifying when the defaults change; they are bounded, so a hash in a
// secret file cannot make one login eat gigabytes. Hashing and verifying run on libuv's
// thread pool (async scrypt), never on the event loop, at most two at a time.
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/** OWASP's first scrypt setting: N = 2^17, r = 8, p = 1 (128 MiB, a few hundred ms). */
export const SCRYPT_DEFAULTS = { N: 2 ** 17, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const BOUNDS = { minLog2N: 14, maxLog2N: 20, maxR: 32, maxP: 16, maxMemoryBytes: 512 * 1024 * 1024, minBytes: 16, maxBytes: 64 };
/** The longest password a login accepts (the login form's maxlength). */
export const MAX_PASSWORD_LENGTH = 1_024;
/** Scrypt computations at once: each holds 128·N·r bytes (128 MiB with the defaults). */
const CONCURRENT = 2;

export interface PasswordHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** A secret value that is not a usable hash; the message says what is wrong, never the value. */
export class PasswordHashFormatError extends Error {}

/** True when a secret's value is meant as a hash (`$scheme$…`), not a clear password. */
export function looksLikeHash(value: string): boolean {
  return /^\$[A-Za-z0-9-]+\$/.test(value);
}

const B64 = /^[A-Za-z0-9+/]+$/;

function decodeB64(part: string, what: string): Buffer {
  if (!B64.test(part)) throw new PasswordHashFormatError(`its ${what} is not unpadded base64`);
  const buf = Buffer.from(part, 'base64');
  if (buf.toString('base64').replace(/=+$/, '') !== part) throw new PasswordHashFormatError(`its ${what} is not unpadded base64`);
  if (buf.length < BOUNDS.minBytes || buf.length > BOUNDS.maxBytes)
    throw new PasswordHashFormatError(`its ${what} is ${buf.length} bytes (${BOUNDS.minBytes} to ${BOUNDS.maxBytes} expected)`);
  return buf;
}

/** Parses `$scrypt$N=…,r=…,p=…$salt$hash`; throws PasswordHashFormatError saying what is wrong. */
export function parsePasswordHash(text: string): PasswordHash {
  const value = text.trim(); // base64 has no blanks: a trailing one from an editor is harmless
  const parts = value.split('$');
  const scheme = parts[1] ?? '';
  if (parts[0] !== '' || !looksLikeHash(value)) throw new PasswordHashFormatError('it does not start with $scrypt$');
  if (scheme !== 'scrypt') throw new PasswordHashFormatError(`its scheme is "${scheme.slice(0, 20)}", and only scrypt hashes are read`);
  if (parts.length !== 5) throw new PasswordHashFormatError('it does not have the four parts $scrypt$<parameters>$<salt>$<hash>');
  const params = new Map<string, number>();
  for (const kv of (parts[2] ?? '').split(',')) {
    const m = /^(N|r|p)=([1-9][0-9]{0,9})$/.exec(kv);
    if (!m || params.has(m[1] as string)) throw new PasswordHashFormatError('its parameters are not N=<n>,r=<n>,p=<n>');
    params.set(m[1] as string, Number(m[2]));
  }
  const N = params.get('N');
  const r = params.get('r');
  const p = params.get('p');
  if (N === undefined || r === undefined || p === undefined) throw new PasswordHashFormatError('its parameters are not N=<n>,r=<n>,p=<n>');
  const log2N = Math.log2(N);
  if (!Number.isInteger(log2N) || log2N < BOUNDS.minLog2N || log2N > BOUNDS.maxLog2N)
    throw new PasswordHashFormatError(`its N (${N}) is not a power of two from 2^${BOUNDS.minLog2N} to 2^${BOUNDS.maxLog2N}`);
  if (r > BOUNDS.maxR) throw new PasswordHashFormatError(`its r (${r}) is over ${BOUNDS.maxR}`);
  if (p > BOUNDS.maxP) throw new PasswordHashFormatError(`its p (${p}) is over ${BOUNDS.maxP}`);
  if (128 * N * r > BOUNDS.maxMemoryBytes)
    throw new PasswordHashFormatError(`N=${N} with r=${r} needs over ${BOUNDS.maxMemoryBytes / 2 ** 20} MiB`);
  return { N, r, p, salt: decodeB64(parts[3] ?? '', 'salt'), hash: decodeB64(parts[4] ?? '', 'hash') };
}

const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');

export function formatPasswordHash(h: PasswordHash): string {
  return `$scrypt$N=${h.N},r=${h.r},p=${h.p}$${b64(h.salt)}$${b64(h.hash)}`;
}

// A small gate: scrypt's memory is the limit, not the thread pool.
let running = 0;
const waiting: (() => void)[] = [];

async function gated<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function derive(password: string, salt: Buffer, keyBytes: number, params: { N: number; r: number; p: number }): Promise<Buffer> {
  // Node refuses above maxmem (32 MiB by default): allow what these parameters need.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 128 * params.N * params.r * 2 + 1024 * 1024 };
  return gated(
    () =>
      new Promise<Buffer>((resolve, reject) =>
        scrypt(password.normalize('NFC'), salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key))),
      ),
  );
}

/** A new hash of `password` with the default parameters and a random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, KEY_BYTES, SCRYPT_DEFAULTS);
  return formatPasswordHash({ ...SCRYPT_DEFAULTS, salt, hash });
}

/** Whether `password` matches; compared in constant time. */
export async function verifyPassword(password: string, h: PasswordHash): Promise<boolean> {
  const key = await derive(password, h.salt, h.hash.length, h);
  return timingSafeEqual(key, h.hash);
}

/** The same work as a verification with the defaults, for a login name nobody has. */
export async function wasteVerification(password: string): Promise<false> {
  await derive(password, randomBytes(SALT_BYTES), KEY_BYTES, SCRYPT_DEFAULTS);
  return false;
}
