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

export const stateSchema = z
  .strictObject({
    /** SQLite file of the state store, relative to the project file (the default engine). */
    path: z.string().min(1).optional(),
    /** PostgreSQL database of the state store: postgres://user@host:port/database. */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\/[^/]+\/[^/?#]+/, 'a PostgreSQL URL such as postgres://crossforest@db.example:5432/crossforest')
      .refine((u) => !/^postgres(ql)?:\/\/[^/@]*:[^/@]*@/.test(u), {
        message: 'the URL holds a password: move it to state.password ({ file: … } or { env: … })',
      })
      .optional(),
    /** The PostgreSQL user's password (a secret reference); none for trust or peer authentication. */
    password: secretRef.optional(),
    /** Connections each crossforest process keeps to PostgreSQL. */
    poolSize: z.int().min(1).max(100).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.path !== undefined && s.url !== undefined)
      ctx.addIssue({ code: 'custom', message: 'give path (SQLite) or url (PostgreSQL), not both', path: ['url'] });
    if (s.url === undefined && (s.password !== undefined || s.poolSize !== undefined))
      ctx.addIssue({ code: 'custom', message: 'password and poolSize belong to a PostgreSQL state (state.url)', path: ['password'] });
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
