// `migration.notices`: the seed's expectations e-mail, sent to each batch's users before
// and after their move through the target organization's SMTP (src/migration/notices.ts).
// Templates are checked here, so a typo in a placeholder is a load error with its key path.
import { z } from 'zod';
import { parseTemplate, subjectProblems } from '../migration/noticeTemplate.ts';
import { secretRef } from './secret.ts';

const body = z
  .string()
  .min(1)
  .superRefine((t, ctx) => {
    for (const p of parseTemplate(t).problems) ctx.addIssue({ code: 'custom', message: p });
  });
const subject = z
  .string()
  .min(1)
  .max(200)
  .superRefine((t, ctx) => {
    for (const p of subjectProblems(t)) ctx.addIssue({ code: 'custom', message: p });
  });

/** A notice template; placeholders: {displayName} {sourceAddress} {targetAddress} {batch} {workgroup} {window}. */
export const noticeTemplateSchema = z.strictObject({ subject, body });

export const noticesSchema = z.strictObject({
  /** The target organization's submission service (the lab: Postfix B on 127.0.0.1:5872). */
  smtp: z.strictObject({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    /** none: plaintext (loopback labs only); starttls: upgrade, certificate verified; implicit: SMTPS. */
    tls: z.enum(['none', 'starttls', 'implicit']).default('starttls'),
    caFile: z.string().optional(),
    user: z.string().min(1).optional(),
    password: secretRef.optional(),
  }),
  /** The sender, e.g. "Migration Team <migration@forest-b.test>". */
  from: z
    .string()
    .min(3)
    .regex(/^[^\r\n]*@[^\r\n]*$/, 'an address such as "Migration Team <migration@example.com>"'),
  /** Sent at batch start, before pre-stage, to the source address. Default: the built-in text. */
  before: noticeTemplateSchema.optional(),
  /** Sent once the mailbox is done, to the target address. Default: the built-in text. */
  after: noticeTemplateSchema.optional(),
  sendBefore: z.boolean().default(true),
  sendAfter: z.boolean().default(true),
});

export type NoticesConfig = z.infer<typeof noticesSchema>;
