// The `audit:` section: `crossforest audit`, the seed's "Security to-do list" as a check.
// The organizations' IMAP (mailStore) and LDAP (directory) endpoints are audited without
// being listed; SMTP, submission, POP3 and HTTP endpoints are listed here.
import { z } from 'zod';

const host = z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/, 'a host name or IP address such as mail.example.com');

export const auditEndpointSchema = z.strictObject({
  /** The organization the endpoint belongs to (a key of organizations), for the report. */
  organization: z.string().min(1).optional(),
  protocol: z.enum(['smtp', 'submission', 'imap', 'pop3', 'ldap', 'http']),
  host,
  port: z.number().int().min(1).max(65535),
  /** implicit: TLS from the first byte (993, 995, 465, 636, 443); starttls: upgrade; none: expected plain. */
  tls: z.enum(['implicit', 'starttls', 'none']),
  /** Run the open-relay test (SMTP only). Default: true for smtp and submission. */
  openRelayTest: z.boolean().optional(),
  /** The name the certificate must match; default the host. */
  servername: z.string().optional(),
});

export const auditSchema = z.strictObject({
  endpoints: z.array(auditEndpointSchema).default([]),
  /** PEM CA file(s) trusted for certificate checks, relative to the project file; the system store when absent. */
  caFile: z.string().optional(),
  /**
   * Non-loopback hosts the organizations own: the open-relay test sends MAIL/RCPT (never
   * DATA) only to loopback or to these. Everything else is refused.
   */
  ownedHosts: z.array(host).default([]),
  /** A certificate expiring within this many days is a warning. Default 30. */
  expiryWarningDays: z.number().int().min(0).default(30),
  /** The outside domain used in the open-relay test's MAIL FROM and RCPT TO. */
  openRelayDomain: z
    .string()
    .regex(/^[a-z0-9.-]+$/i)
    .default('open-relay-test.invalid'),
  /** Timeout of every probe, in milliseconds. Default 5,000. */
  timeoutMs: z.number().int().min(100).default(5_000),
});

export type AuditEndpointConfig = z.infer<typeof auditEndpointSchema>;
export type AuditConfig = z.infer<typeof auditSchema>;
