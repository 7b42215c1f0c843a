// Errors of the relay. An SmtpReplyError is what the relay answers a client with: it
// carries the SMTP reply code (smtp-server reads `responseCode`) and never a body.
import { CrossforestError, type ErrorDetails } from '../util/errors.ts';

export class RelayError extends CrossforestError {
  readonly smtpResponseCode: number | undefined;

  constructor(message: string, details: ErrorDetails & { smtpResponseCode?: number } = {}) {
    super('CF_ERR_RELAY', message, details);
    this.smtpResponseCode = details.smtpResponseCode;
  }
}

/** An error smtp-server turns into an SMTP reply: `<responseCode> <message>`. */
export class SmtpReplyError extends Error {
  readonly responseCode: number;

  constructor(responseCode: number, message: string) {
    super(message);
    this.name = 'SmtpReplyError';
    this.responseCode = responseCode;
  }
}
