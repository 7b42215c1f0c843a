// Mail-store errors: turn imapflow and socket failures into messages that name the
// store, the mailbox and the fix, carrying the server's own words (never a password).
import { CrossforestError, type ErrorDetails } from '../util/errors.ts';

export class MailStoreError extends CrossforestError {
  /** The IMAP response text or code ([AUTHENTICATIONFAILED], [UNAVAILABLE] …) when the server answered. */
  readonly imapResponse: string | undefined;
  constructor(code: string, message: string, details: ErrorDetails & { imapResponse?: string } = {}) {
    super(code, message, details);
    this.imapResponse = details.imapResponse;
  }
}

export function toMailStoreError(err: unknown, action: string, object: string): MailStoreError {
  if (err instanceof MailStoreError) return err;
  const e = err as Error & { code?: string; responseText?: string; serverResponseCode?: string; authenticationFailed?: boolean };
  const sys = e.code;
  if (sys === 'ECONNREFUSED' || sys === 'EHOSTUNREACH' || sys === 'ENOTFOUND' || sys === 'ETIMEDOUT' || sys === 'CONNECT_TIMEOUT') {
    return new MailStoreError('CF_ERR_IMAP_UNREACHABLE', `cannot ${action}: ${object} is unreachable (${sys})`, {
      object,
      hint: 'check mailStore.host/port in the project file and that the IMAP server runs (lab: `crossforest lab up`)',
      cause: err,
    });
  }
  if (/certificate|self[- ]signed|altname|CERT_/i.test(`${e.message} ${sys ?? ''}`)) {
    return new MailStoreError('CF_ERR_IMAP_TLS', `cannot ${action}: TLS certificate of ${object} does not verify (${e.message})`, {
      object,
      hint: 'set mailStore.caFile to the PEM of the CA that signed the server certificate',
      cause: err,
    });
  }
  const response = e.responseText ?? e.serverResponseCode;
  if (e.authenticationFailed || /AUTHENTICATIONFAILED|authentication failed/i.test(`${response ?? ''} ${e.message}`)) {
    return new MailStoreError('CF_ERR_IMAP_AUTH', `cannot ${action}: ${object} refused the login${response ? ` (${response})` : ''}`, {
      object,
      ...(response ? { imapResponse: response } : {}),
      hint: 'check mailStore.masterUser and its password file, and that the mailbox exists (is the user mailbox-enabled?)',
      cause: err,
    });
  }
  return new MailStoreError('CF_ERR_IMAP', `cannot ${action} on ${object}: ${response ?? e.message}`, {
    object,
    ...(response ? { imapResponse: response } : {}),
    cause: err,
  });
}
