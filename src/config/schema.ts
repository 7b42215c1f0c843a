// The project file, crossforest.yaml. Every section is strict: an unknown key is an
// error (a typo must never be silently ignored on a Friday-night cutover).
// Later capabilities add their own optional section here, each in its own file.
import { z } from 'zod';
import { auditSchema } from './audit.ts';
import { coexistenceSchema } from './coexistence.ts';
import { mailCopySchema } from './mail.ts';
import { migrationSchema } from './migration.ts';
import { organizationSchema } from './organization.ts';
import { stateSchema } from './state.ts';
import { syncSchema } from './sync.ts';
import { transportSchema } from './transport.ts';

export const projectSchema = z.strictObject({
  /** A name for this merge project, shown in reports. */
  project: z.string().min(1).default('crossforest'),
  /** The state store: a SQLite file (one host, the default) or a PostgreSQL database (many hosts; src/config/state.ts). */
  state: stateSchema,
  /** The two organizations, keyed by a short id used on the command line (a, b). */
  organizations: z
    .record(z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'a short lowercase id such as a, b, contoso'), organizationSchema)
    .refine((orgs) => Object.keys(orgs).length >= 1, 'at least one organization'),
  /** GAL sync: the metaverse sync engine between the forests (src/config/sync.ts). */
  sync: syncSchema.optional(),
  /** `crossforest serve`: GAL find, free/busy, client autoconfiguration (src/config/coexistence.ts). */
  coexistence: coexistenceSchema.optional(),
  /** `crossforest relay`: the mail-flow policy relay (src/config/transport.ts). */
  transport: transportSchema.optional(),
  /** `crossforest audit`: the security to-do list as a check (src/config/audit.ts). */
  audit: auditSchema.optional(),
  /** Mailbox copy (`crossforest mailbox copy`): folders, limits, retries, throttles (src/config/mail.ts). */
  mail: mailCopySchema.optional(),
  /** Migration batches (`crossforest batch`): pre-stage, copy, cutover, clean-up, verify (src/config/migration.ts). */
  migration: migrationSchema.optional(),
});

export type ProjectConfig = z.infer<typeof projectSchema>;
