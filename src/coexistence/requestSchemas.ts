// Every query parameter the service accepts, validated and bounded with zod before any
// directory or calendar server is asked. A refusal is a 400 whose message names the
// parameter and what was expected.
import { z } from 'zod';
import { CrossforestError } from '../util/errors.ts';
import { slotCount } from './freeBusySlots.ts';
import type { FreeBusyWindow } from './types.ts';

export class BadRequestError extends CrossforestError {
  readonly statusCode = 400;
  constructor(message: string) {
    super('CF_ERR_BAD_REQUEST', message);
  }
}

// Deliberately plain: one @, no spaces or angle brackets, a dotted domain, RFC 5321 length.
export const emailAddress = z
  .string()
  .trim()
  .max(320)
  .transform((s) => s.replace(/^smtp:/i, ''))
  .pipe(
    z
      .string()
      .regex(
        /^[^\s@<>()"\\,;:]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$/,
        'an e-mail address such as jdoe@example.com',
      ),
  );

const single = (what: string) =>
  z.string({ error: (iss) => (iss.input === undefined ? `${what} is required` : `${what} must be given once`) });

export const autoconfigQuery = z.looseObject({
  emailaddress: single('emailaddress').pipe(emailAddress),
});

export function galQuery(maxPage: number) {
  return z.strictObject({
    Cmd: z.literal('galfind').optional(),
    q: single('q').pipe(z.string().trim().min(1, 'q must not be empty').max(64, 'q is at most 64 characters')),
    offset: z.coerce.number().int().min(0).max(100_000).default(0),
    limit: z.coerce.number().int().min(1).max(maxPage, `limit is at most ${maxPage}`).default(maxPage),
  });
}

const isoTime = (what: string) =>
  single(what).pipe(
    z.iso.datetime({ offset: true, error: `${what} must be an ISO 8601 date-time with an offset, e.g. 2006-04-18T00:00:00-04:00` }),
  );

export function freeBusyQuery(maxAddresses: number) {
  return z.strictObject({
    Cmd: z.literal('freebusy').optional(),
    start: isoTime('start'),
    end: isoTime('end'),
    interval: z.coerce
      .number({ error: 'interval must be a number of minutes' })
      .int('interval must be whole minutes')
      .min(1, 'interval is at least 1 minute')
      .max(1440, 'interval is at most 1440 minutes'),
    u: z
      .union([z.string(), z.array(z.string())], { error: 'u (an address, SMTP:jdoe@example.com) is required' })
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .pipe(z.array(emailAddress).min(1).max(maxAddresses, `at most ${maxAddresses} addresses (u) per request`)),
  });
}

/** The window, or a 400 when it is backwards or has more slots than allowed. */
export function freeBusyWindow(q: { start: string; end: string; interval: number }, maxSlots: number): FreeBusyWindow {
  const w = { start: Date.parse(q.start), end: Date.parse(q.end), intervalMinutes: q.interval };
  if (!(w.end > w.start)) throw new BadRequestError('end must be after start');
  const slots = slotCount(w);
  if (slots > maxSlots) {
    throw new BadRequestError(
      `the window from start to end at ${q.interval}-minute intervals is ${slots.toLocaleString('en-US')} slots; at most ${maxSlots.toLocaleString('en-US')} are allowed: shorten the window or raise the interval`,
    );
  }
  return w;
}

/** Parses `value` with `schema` or throws a 400 naming each bad parameter. */
export function parseOr400<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const parts = r.error.issues.map((i) => {
    const key = i.path.join('.') || 'request';
    if (i.code === 'unrecognized_keys') return `unknown parameter${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
    return `${key}: ${i.message}`;
  });
  throw new BadRequestError(`bad request: ${parts.join('; ')}`);
}
