// TLS of one endpoint: offered at all (implicit or STARTTLS), which protocol versions
// it accepts, the cipher it picks, and its certificate (trust, name, expiry).

import { probeTls, type TlsMode, type TlsProbeResult } from './tlsProbe.ts';
import type { AuditEndpoint, Finding } from './types.ts';
import { endpointLabel, findingsOf } from './types.ts';

/** Old versions need OpenSSL's security level 0 on the client side to be tried at all. */
const VERSIONS = [
  { name: 'TLSv1', legacy: true },
  { name: 'TLSv1.1', legacy: true },
  { name: 'TLSv1.2', legacy: false },
  { name: 'TLSv1.3', legacy: false },
] as const;

const NAME_ERRORS = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);
const EXPIRY_ERRORS = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

export function starttlsMode(protocol: AuditEndpoint['protocol']): TlsMode | undefined {
  switch (protocol) {
    case 'imap':
      return 'starttls-imap';
    case 'pop3':
      return 'starttls-pop3';
    case 'smtp':
    case 'submission':
      return 'starttls-smtp';
    case 'ldap':
      return 'starttls-ldap';
    default:
      return undefined;
  }
}

const VERSION_FIX: Record<AuditEndpoint['protocol'], string> = {
  imap: 'Dovecot: ssl_min_protocol = TLSv1.2',
  pop3: 'Dovecot: ssl_min_protocol = TLSv1.2',
  smtp: 'Postfix: smtpd_tls_protocols = >=TLSv1.2 and smtpd_tls_mandatory_protocols = >=TLSv1.2',
  submission: 'Postfix: smtpd_tls_protocols = >=TLSv1.2 and smtpd_tls_mandatory_protocols = >=TLSv1.2',
  ldap: 'OpenLDAP: olcTLSProtocolMin: 3.3 (TLS 1.2); AD: disable TLS 1.0/1.1 in SCHANNEL',
  http: 'web server: allow TLS 1.2 and 1.3 only',
};

export interface TlsFindings {
  findings: Finding[];
  /** The mode that worked, for later checks; undefined when no TLS was found. */
  mode: TlsMode | undefined;
}

/**
 * Runs the TLS checks. `starttlsOffered` comes from the plain capabilities (undefined
 * when not looked at: implicit endpoints, LDAP, HTTP).
 */
export async function checkTls(
  ep: AuditEndpoint,
  starttlsOffered: boolean | undefined,
  opts: { timeoutMs: number; expiryWarningDays: number },
): Promise<TlsFindings> {
  const label = endpointLabel(ep);
  const finding = findingsOf(ep.organization, label);
  const base = { host: ep.host, port: ep.port, servername: ep.servername, ca: ep.ca, timeoutMs: opts.timeoutMs };
  const candidates: TlsMode[] = [];
  if (ep.tls === 'implicit' || ep.tls === 'unknown') candidates.push('implicit');
  const upgrade = starttlsMode(ep.protocol);
  if (ep.tls !== 'implicit' && upgrade && starttlsOffered !== false) candidates.push(upgrade);

  let mode: TlsMode | undefined;
  let best: TlsProbeResult | undefined;
  let lastError = '';
  for (const m of candidates) {
    try {
      best = await probeTls({ ...base, mode: m });
      mode = m;
      break;
    } catch (err) {
      lastError = (err as Error).message;
    }
  }
  if (!best || !mode) {
    const why = ep.tls === 'implicit' ? `no TLS handshake: ${lastError}` : 'no TLS: neither implicit TLS nor STARTTLS is offered';
    return {
      mode: undefined,
      findings: [
        finding(
          'tls-offered',
          'fail',
          why,
          `enable TLS with a certificate (${ep.protocol === 'http' ? 'HTTPS' : 'STARTTLS or implicit TLS'}); the seed: "If you are allowing those protocols and not requiring SSL, then you are letting your users send their usernames and passwords as clear text"`,
        ),
      ],
    };
  }
  const findings: Finding[] = [
    finding('tls-offered', 'pass', `${mode === 'implicit' ? 'implicit TLS' : 'STARTTLS'}, ${best.protocol ?? '?'}`),
  ];

  const accepted: string[] = [];
  for (const v of VERSIONS) {
    const tlsOptions: Record<string, unknown> = { minVersion: v.name, maxVersion: v.name };
    if (v.legacy) tlsOptions.ciphers = 'DEFAULT@SECLEVEL=0';
    try {
      await probeTls({ ...base, mode, tlsOptions });
      accepted.push(v.name);
    } catch {
      // refused: what we want for the legacy versions
    }
  }
  const legacy = accepted.filter((v) => v === 'TLSv1' || v === 'TLSv1.1');
  const modern = accepted.filter((v) => v === 'TLSv1.2' || v === 'TLSv1.3');
  if (legacy.length > 0)
    findings.push(
      finding('tls-versions', 'fail', `accepts ${accepted.join(', ')}`, `refuse TLS 1.0 and 1.1 (${VERSION_FIX[ep.protocol]})`),
    );
  else if (modern.length === 0)
    findings.push(finding('tls-versions', 'fail', 'accepts neither TLS 1.2 nor TLS 1.3', 'enable TLS 1.2 and 1.3'));
  else findings.push(finding('tls-versions', 'pass', `accepts ${accepted.join(', ')}`));

  const aead = /GCM|CHACHA20|CCM|^TLS_AES/i.test(best.cipher);
  findings.push(
    aead
      ? finding('cipher', 'pass', best.cipher)
      : finding('cipher', 'warn', `${best.cipher} (not an AEAD cipher)`, 'prefer ECDHE with AES-GCM or ChaCha20-Poly1305'),
  );

  const err = best.authorizationError ?? '';
  const cert = best.certificate;
  if (best.authorized || NAME_ERRORS.has(err) || EXPIRY_ERRORS.has(err))
    findings.push(finding('certificate-trust', 'pass', `trusted (issuer ${cert?.issuer ?? '?'})`));
  else {
    findings.push(
      finding(
        'certificate-trust',
        'warn',
        `untrusted: ${err}${cert?.selfSigned ? ' (self-signed)' : ''}, issuer ${cert?.issuer ?? '?'}`,
        "install a certificate from a CA the clients trust; for a private CA, give its certificate as audit.caFile (or the organization's caFile)",
      ),
    );
  }
  if (NAME_ERRORS.has(err)) {
    findings.push(
      finding(
        'certificate-name',
        'fail',
        `does not name ${ep.servername ?? ep.host} (${cert?.subjectAltName || cert?.subject || 'no names'})`,
        `the seed: "the ticket will refer to the DNS name of the server": issue one for ${ep.servername ?? ep.host}`,
      ),
    );
  } else {
    findings.push(finding('certificate-name', 'pass', `names ${ep.servername ?? ep.host}`));
  }
  if (cert) {
    const when = `${cert.validTo.slice(0, 10)} (${cert.daysLeft} days)`;
    if (cert.daysLeft < 0 || EXPIRY_ERRORS.has(err))
      findings.push(finding('certificate-expiry', 'fail', `expired or not yet valid: ${when}`, 'renew the certificate now'));
    else if (cert.daysLeft < opts.expiryWarningDays)
      findings.push(finding('certificate-expiry', 'warn', `expires ${when}`, 'renew the certificate before it expires'));
    else findings.push(finding('certificate-expiry', 'pass', `expires ${when}`));
  }
  return { mode, findings };
}
