// Core types of `crossforest audit`, the seed's "Security to-do list" as a check.
//
// Glossary, in the seed's words:
// - endpoint: one listening service of an organization (IMAP, POP3, SMTP, submission —
//   "the virtual SMTP server you are using for outbound mail for your POP and IMAP
//   clients" —, LDAP, HTTP), host and port.
// - SSL / TLS: "use SSL to encrypt the usernames and passwords for your HTTP, POP, IMAP
//   and (outgoing user) SMTP authentication": implicit TLS from the first byte, or
//   STARTTLS (STLS in POP3) upgrading a plain connection.
// - clear-text authentication: a server that offers LOGIN / AUTH PLAIN before TLS
//   ("letting your users send their usernames and passwords as clear text").
// - ticket: the seed's word for the server certificate, which "will refer to the DNS
//   name of the server": validity, expiry, name match, trust.
// - open relay: "your server could be used to send messages for spam purposes": it
//   accepts, from an unauthenticated client, mail from an outside domain to an outside
//   domain. Tested only against the organizations' own servers.
// - finding: one check on one endpoint, with its status and the fix.
import type { AuditEndpointConfig } from '../config/audit.ts';

export type Protocol = AuditEndpointConfig['protocol'];
export type TlsExpectation = AuditEndpointConfig['tls'];

export interface AuditEndpoint {
  organization: string | undefined;
  protocol: Protocol;
  host: string;
  port: number;
  /** implicit / starttls / none; `unknown` for a bare host:port from the command line. */
  tls: TlsExpectation | 'unknown';
  openRelayTest: boolean;
  servername: string | undefined;
  /** PEM CA to verify the certificate against (the org's caFile, else audit.caFile). */
  ca: Buffer | undefined;
  /** Where it came from: organizations.a.mailStore, audit.endpoints[2], command line. */
  source: string;
  /**
   * One of crossforest's own relay listeners; `localOnly`: on loopback without a clients
   * section, so any process of this host may relay through it (and no other host can reach it).
   */
  relayListener?: { name: string; localOnly: boolean };
}

export type CheckId =
  | 'reachable'
  | 'tls-offered'
  | 'tls-versions'
  | 'cipher'
  | 'certificate-trust'
  | 'certificate-expiry'
  | 'certificate-name'
  | 'cleartext-auth'
  | 'open-relay'
  | 'auto-replies-blocked'
  | 'read-receipts-stripped'
  | 'owned';

/** pass: fine; warn: fix soon, exit code stays 0; fail: exit code 1; info/skip: not judged. */
export type FindingStatus = 'pass' | 'warn' | 'fail' | 'info' | 'skip';

export interface Finding {
  organization: string | undefined;
  /** `imap 127.0.0.1:1431`, or `policy` for checks of the project file. */
  endpoint: string;
  check: CheckId;
  status: FindingStatus;
  detail: string;
  /** What to do; empty on a pass. */
  fix: string;
}

export interface AuditReport {
  findings: Finding[];
  summary: Record<FindingStatus, number>;
  /** True when any finding failed (the command exits 1). */
  failed: boolean;
}

export function endpointLabel(e: Pick<AuditEndpoint, 'protocol' | 'host' | 'port'>): string {
  return `${e.protocol} ${e.host}:${e.port}`;
}

/** A finding factory bound to one endpoint (or `relay policy`), so checks write one line each. */
export function findingsOf(organization: string | undefined, endpoint: string) {
  return (check: CheckId, status: FindingStatus, detail: string, fix = ''): Finding => ({
    organization,
    endpoint,
    check,
    status,
    detail,
    fix,
  });
}
