// Directory errors: one place that turns ldapts and socket failures into messages an
// administrator can act on, carrying the LDAP result code and the object (URL or DN).
import { CrossforestError, type ErrorDetails } from '../util/errors.ts';

export class DirectoryError extends CrossforestError {
  /** The LDAP result code (RFC 4511), when the server answered. */
  readonly ldapCode: number | undefined;
  constructor(code: string, message: string, details: ErrorDetails & { ldapCode?: number } = {}) {
    super(code, message, details);
    this.ldapCode = details.ldapCode;
  }
}

/** Wraps any failure of an LDAP operation on `object` (a URL or DN) doing `action`. */
export function toDirectoryError(err: unknown, action: string, object: string): DirectoryError {
  if (err instanceof DirectoryError) return err;
  const e = err as Error & { code?: number | string; errno?: string };
  const sys = typeof e.code === 'string' ? e.code : e.errno;
  if (sys === 'ECONNREFUSED' || sys === 'EHOSTUNREACH' || sys === 'ENOTFOUND' || sys === 'ETIMEDOUT') {
    return new DirectoryError('CF_ERR_LDAP_UNREACHABLE', `cannot ${action}: ${object} is unreachable (${sys})`, {
      object,
      hint: 'check the URL and port in the project file and that the directory server runs (lab: `crossforest lab up`)',
      cause: err,
    });
  }
  if (/timeout|timed out/i.test(e.message ?? '')) {
    return new DirectoryError('CF_ERR_LDAP_TIMEOUT', `cannot ${action} on ${object}: no answer in time`, {
      object,
      hint: 'the server is slow or a firewall drops packets; raise directory.timeoutMs if the server is merely slow',
      cause: err,
    });
  }
  if (/certificate|self[- ]signed|altname|CERT_/i.test(`${e.message} ${sys ?? ''}`)) {
    return new DirectoryError('CF_ERR_LDAP_TLS', `cannot ${action}: TLS certificate of ${object} does not verify (${e.message})`, {
      object,
      hint: 'set directory.caFile to the PEM of the CA that signed the server certificate',
      cause: err,
    });
  }
  const ldapCode = typeof e.code === 'number' ? e.code : undefined;
  if (ldapCode === 49) {
    return new DirectoryError('CF_ERR_LDAP_BIND', `cannot ${action}: invalid credentials for ${object}`, {
      object,
      ldapCode,
      hint: 'check directory.bindDn and the password it points to (the password itself is never printed)',
      cause: err,
    });
  }
  if (ldapCode === 32) {
    return new DirectoryError('CF_ERR_LDAP_NO_OBJECT', `cannot ${action}: ${object} does not exist`, {
      object,
      ldapCode,
      hint: 'check the DN (baseDn, container) in the project file',
      cause: err,
    });
  }
  return new DirectoryError('CF_ERR_LDAP', `cannot ${action} on ${object}: ${e.message}${ldapCode ? ` (LDAP result ${ldapCode})` : ''}`, {
    object,
    ...(ldapCode === undefined ? {} : { ldapCode }),
    cause: err,
  });
}
