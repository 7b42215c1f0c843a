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

/** What went wrong talking to the next hop (smtpClient.ts); stable, named like nodemailer's so logs read the same. */
export type SmtpClientErrorCode =
  /** refused, reset or closed by the server (also a 421 it closed with) */
  | 'ECONNECTION'
  /** no connection, greeting or reply within the timeout */
  | 'ETIMEDOUT'
  /** a socket error mid-session (EPIPE, ECONNRESET) */
  | 'ESOCKET'
  /** STARTTLS required but not offered, or the TLS handshake / certificate check failed */
  | 'ETLS'
  /** a reply that makes no sense where it came (bad greeting, RSET refused, reply too long) */
  | 'EPROTOCOL'
  /** MAIL FROM, every RCPT TO, or the DATA command refused */
  | 'EENVELOPE'
  /** the message refused after its final dot */
  | 'EMESSAGE'
  /** the message could not be read from its file */
  | 'ESTREAM';

/**
 * The next hop said no, or could not be talked to. `responseCode` and `response` are the
 * server's own reply (absent when it said nothing), the fields nodemailer and smtp-server
 * use too: nextHop.ts maps a 5xx to a permanent refusal and anything else to a 451.
 */
export class SmtpClientError extends Error {
  readonly code: SmtpClientErrorCode;
  /** The next hop, `host:port`. */
  readonly server: string;
  /** The command the reply answered: 'CONN', 'EHLO', 'STARTTLS', 'MAIL FROM', 'RCPT TO', 'DATA', 'RSET'. */
  readonly command: string;
  readonly responseCode: number | undefined;
  /** The whole reply, lines joined with \n. */
  readonly response: string | undefined;

  constructor(
    code: SmtpClientErrorCode,
    message: string,
    details: { server: string; command: string; reply?: { code: number; text: string } | undefined; cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SmtpClientError';
    this.code = code;
    this.server = details.server;
    this.command = details.command;
    this.responseCode = details.reply?.code;
    this.response = details.reply?.text;
  }
}
