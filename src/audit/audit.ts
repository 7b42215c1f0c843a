// `crossforest audit`: every endpoint's checks, in parallel (a few at a time), one
// failure never hiding the others; plus the relay-policy checks of the project file.
import pLimit from 'p-limit';
import type { AuditConfig } from '../config/audit.ts';
import type { LoadedProject } from '../config/load.ts';
import type { Logger } from '../util/logger.ts';
import { isOwned } from './endpoints.ts';
import { type PlainCapabilities, plainCapabilities, probeOpenRelay } from './plainSession.ts';
import { checkRelayPolicy } from './relayPolicyCheck.ts';
import { checkTls } from './tlsChecks.ts';
import { probeTls } from './tlsProbe.ts';
import { type AuditEndpoint, type AuditReport, endpointLabel, type Finding, type FindingStatus, findingsOf } from './types.ts';

export type AuditOptions = Pick<AuditConfig, 'ownedHosts' | 'expiryWarningDays' | 'openRelayDomain' | 'timeoutMs'> & {
  logger: Logger;
  /** Endpoints audited at once. Default 4. */
  concurrency?: number;
};

const CLEARTEXT_FIX: Record<AuditEndpoint['protocol'], string> = {
  imap: 'Dovecot: disable_plaintext_auth = yes (2.4: auth_allow_cleartext = no), so LOGINDISABLED is announced until STARTTLS',
  pop3: 'Dovecot: disable_plaintext_auth = yes (2.4: auth_allow_cleartext = no)',
  smtp: 'Postfix: smtpd_tls_auth_only = yes (AUTH only after STARTTLS)',
  submission: 'Postfix: smtpd_tls_auth_only = yes on the submission service, or implicit TLS on 465',
  ldap: '',
  http: '',
};

export async function auditEndpoints(
  endpoints: AuditEndpoint[],
  project: LoadedProject | undefined,
  opts: AuditOptions,
): Promise<AuditReport> {
  const limit = pLimit(opts.concurrency ?? 4);
  const perEndpoint = await Promise.all(endpoints.map((ep) => limit(() => auditOne(ep, opts))));
  const findings = [...perEndpoint.flat(), ...(project ? checkRelayPolicy(project) : [])];
  const summary: Record<FindingStatus, number> = { pass: 0, warn: 0, fail: 0, info: 0, skip: 0 };
  for (const f of findings) summary[f.status]++;
  return { findings, summary, failed: summary.fail > 0 };
}

async function auditOne(given: AuditEndpoint, opts: AuditOptions): Promise<Finding[]> {
  const ep = await resolveUnknownTls(given, opts);
  const label = endpointLabel(ep);
  const log = opts.logger.child({ scope: 'audit', endpoint: label });
  const finding = findingsOf(ep.organization, label);
  // This build talks to loopback and to hosts the operator declared as theirs, nothing else.
  if (!isOwned(given.host, opts.ownedHosts)) {
    return [
      finding(
        'owned',
        'skip',
        `${ep.host} is neither loopback nor in audit.ownedHosts: not probed`,
        `if this server is yours, add ${ep.host} to audit.ownedHosts`,
      ),
    ];
  }
  const findings: Finding[] = [];
  let caps: PlainCapabilities | undefined;
  const plainPossible = ep.tls !== 'implicit' && ep.protocol !== 'ldap' && ep.protocol !== 'http';
  if (plainPossible) {
    try {
      caps = await plainCapabilities(ep.protocol as 'imap' | 'smtp' | 'submission' | 'pop3', ep.host, ep.port, opts.timeoutMs);
    } catch (err) {
      // A bare host:port may be implicit TLS: then the plain greeting fails, and TLS is tried.
      if (ep.tls !== 'unknown') {
        log.debug({ err: (err as Error).message }, 'plain connection failed');
        // A relay listener of ours that is not running is no weakness: there is nothing to audit yet.
        if (ep.relayListener)
          return [
            finding(
              'reachable',
              'info',
              `relay listener ${ep.relayListener.name} does not answer (${(err as Error).message})`,
              'start `crossforest relay` and run the audit again to probe it',
            ),
          ];
        return [finding('reachable', 'fail', (err as Error).message, 'check the host and port, and that the service runs')];
      }
    }
  }
  const tls = await checkTls(ep, caps?.starttls, opts);
  if (tls.mode === undefined && !caps && (ep.tls === 'unknown' || plainPossible)) {
    // Nothing answered at all: one finding, not a TLS failure on top of it.
    return [
      finding('reachable', 'fail', 'neither a plain greeting nor a TLS handshake', 'check the host and port, and that the service runs'),
    ];
  }
  findings.push(...tls.findings);
  if (caps) {
    if (caps.authOffered.length > 0) {
      findings.push(finding('cleartext-auth', 'fail', `offers ${caps.authOffered.join(' ')} before TLS`, CLEARTEXT_FIX[ep.protocol]));
    } else
      findings.push(
        finding('cleartext-auth', 'pass', ep.protocol === 'imap' ? 'LOGINDISABLED before TLS' : 'no authentication offered before TLS'),
      );
  } else if (tls.mode === 'implicit') {
    findings.push(finding('cleartext-auth', 'pass', 'TLS from the first byte'));
  } else if (ep.protocol === 'ldap' && tls.mode !== undefined) {
    findings.push(
      finding(
        'cleartext-auth',
        'info',
        'ldap:// with StartTLS: simple binds are clear text unless the client upgrades first',
        'require TLS for binds (OpenLDAP: olcSecurity: simple_bind=128; AD: LDAP signing and channel binding)',
      ),
    );
  }
  if (ep.openRelayTest && (ep.protocol === 'smtp' || ep.protocol === 'submission')) {
    try {
      const probe = await probeOpenRelay(ep.host, ep.port, opts.openRelayDomain, opts.timeoutMs);
      findings.push(openRelayFinding(ep, probe, finding));
    } catch (err) {
      findings.push(finding('open-relay', 'info', `could not run the test: ${(err as Error).message}`));
    }
  }
  return findings;
}

/** The open-relay probe's verdict; crossforest's own relay listeners get fixes of their own. */
function openRelayFinding(
  ep: AuditEndpoint,
  probe: { relayed: boolean; transcript: string[] },
  finding: ReturnType<typeof findingsOf>,
): Finding {
  const last = probe.transcript.at(-1);
  if (!probe.relayed) return finding('open-relay', 'pass', `refused: ${last}`);
  const relay = ep.relayListener;
  if (relay?.localOnly)
    return finding(
      'open-relay',
      'warn',
      `relay listener ${relay.name} relays for any process of this host (loopback, no clients section): no other host can reach it; ${last}`,
      `before it listens anywhere else, give transport.listeners.${relay.name} a clients section (allow: the MTAs' networks; accounts: SMTP AUTH over TLS)`,
    );
  if (relay)
    return finding(
      'open-relay',
      'fail',
      `relay listener ${relay.name} relays for an unauthenticated outside sender: ${last}`,
      `narrow transport.listeners.${relay.name}.clients.allow to the MTAs that send through it`,
    );
  return finding(
    'open-relay',
    'fail',
    `relays for an unauthenticated outside sender: ${last}`,
    'Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination with a mynetworks of your own hosts only; the seed: "An open relay invites spam"',
  );
}

/**
 * A bare host:port: try a TLS handshake first. A plain server answers it with its
 * greeting and the handshake fails at once, whereas a plain read on a TLS port would
 * wait for a greeting that never comes.
 */
async function resolveUnknownTls(ep: AuditEndpoint, opts: AuditOptions): Promise<AuditEndpoint> {
  if (ep.tls !== 'unknown' || !isOwned(ep.host, opts.ownedHosts)) return ep;
  try {
    await probeTls({ host: ep.host, port: ep.port, mode: 'implicit', timeoutMs: opts.timeoutMs, ca: ep.ca, servername: ep.servername });
    return { ...ep, tls: 'implicit' };
  } catch {
    return ep;
  }
}
