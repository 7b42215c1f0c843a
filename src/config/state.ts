// Where the state store lives: a SQLite file (one host; the default) or a PostgreSQL
// database (any number of hosts share it; issue 12). One or the other, never both:
//
//   state: { path: crossforest.sqlite }
//   state: { url: postgres://crossforest@db.example:5432/crossforest, password: { file: secrets/pg.pw } }
//
// The password is a secret reference like every other one; a password written into the URL
// is refused, so that the project file never holds one.
import { z } from 'zod';
import { type SecretRef, secretRef } from './secret.ts';

export const DEFAULT_STATE_PATH = 'crossforest.sqlite';

const URL_EXAMPLE = 'postgres://crossforest@db.example:5432/crossforest';

/**
 * What is wrong with a state.url, or undefined. Never quotes the URL: it may hold a password.
 * A password is looked for first (in the user part and as ?password=), so that it is named
 * even in a URL that is wrong in other ways too.
 */
export function postgresUrlProblem(url: string): string | undefined {
  const move = 'move it to a file and name that in state.password: { file: … } (or { env: … })';
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@?#]*:[^/@?#]*@/i.test(url)) return `the URL holds a password: ${move}`;
  if (/[?&]password=/i.test(url)) return `the URL holds a password (?password=…): ${move}`;
  if (!/^postgres(ql)?:\/\//i.test(url)) return `expected a PostgreSQL URL postgres://user@host:port/database, such as ${URL_EXAMPLE}`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `not a valid URL: write it as postgres://user@host:port/database, such as ${URL_EXAMPLE}`;
  }
  if (u.password !== '') return `the URL holds a password: ${move}`;
  if (u.hostname === '') return `the URL names no host: write it as postgres://user@host:port/database, such as ${URL_EXAMPLE}`;
  if (u.pathname.replace(/^\//, '') === '' || u.pathname.slice(1).includes('/'))
    return `the URL names no database (or more than one path segment): end it with /<database>, such as ${URL_EXAMPLE}`;
  return undefined;
}

/**
 * The password reference, checked here rather than with the shared union so that a wrong
 * form gets a message saying what to write (never echoing the value: it may be the password).
 */
const statePassword = z.custom<SecretRef>((v) => secretRef.safeParse(v).success, {
  error: (iss) =>
    typeof iss.input === 'string' || typeof iss.input === 'number'
      ? 'a reference, not the password itself: put the password on the first line of a file (mode 0600) and write { file: path } (relative to this file), or { env: NAME }'
      : 'expected a secret reference: { file: path } (relative to this file) or { env: NAME }',
});

export const stateSchema = z
  .strictObject(
    {
      /** SQLite file of the state store, relative to the project file (the default engine). */
      path: z.string().min(1).optional(),
      /** PostgreSQL database of the state store: postgres://user@host:port/database. */
      url: z
        .string()
        .superRefine((u, ctx) => {
          const problem = postgresUrlProblem(u);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        })
        .optional(),
      /** The PostgreSQL user's password (a secret reference); none for trust or peer authentication. */
      password: statePassword.optional(),
      /** Connections each crossforest process keeps to PostgreSQL. */
      poolSize: z.int().min(1).max(100).optional(),
    },
    {
      error: (iss) =>
        iss.code === 'invalid_type'
          ? `expected { path: file.sqlite } (SQLite) or { url: ${URL_EXAMPLE}, password: { file: … } } (PostgreSQL)`
          : undefined,
    },
  )
  .superRefine((s, ctx) => {
    if (s.path !== undefined && s.url !== undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'give path (SQLite) or url (PostgreSQL), not both: remove one of them',
        path: ['url'],
      });
    if (s.url === undefined && (s.password !== undefined || s.poolSize !== undefined))
      ctx.addIssue({
        code: 'custom',
        message: 'password and poolSize belong to a PostgreSQL state: add state.url, or remove them for SQLite',
        path: [s.password !== undefined ? 'password' : 'poolSize'],
      });
  })
  .default({ path: DEFAULT_STATE_PATH });

export type StateConfig = z.infer<typeof stateSchema>;

/** The engine and its address, with the SQLite default filled in. */
export type StateLocation =
  | { engine: 'sqlite'; path: string }
  | { engine: 'postgres'; url: string; password?: SecretRef | undefined; poolSize?: number | undefined };

export function stateLocation(s: StateConfig): StateLocation {
  if (s.url !== undefined) return { engine: 'postgres', url: s.url, password: s.password, poolSize: s.poolSize };
  return { engine: 'sqlite', path: s.path ?? DEFAULT_STATE_PATH };
}
