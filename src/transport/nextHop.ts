// Hands a message to the next hop with nodemailer's SMTP transport, bytes as they are
// (`raw`), envelope as the client gave it. The relay answers its client only after this
// resolves, so the next hop's acceptance is the relay's acceptance: no queue of our own.
import type { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import { readReferencedFile } from '../config/secret.ts';
import type { RelayListenerConfig } from '../config/transport.ts';
import { SmtpReplyError } from './errors.ts';

export interface NextHop {
  send(envelope: HandOffEnvelope, raw: Readable): Promise<void>;
  close(): void;
}

export interface HandOffEnvelope {
  /** '' for the null sender. */
  from: string;
  to: string[];
  /** The client declared BODY=8BITMIME (or the body has 8-bit bytes). */
  eightBit: boolean;
  size: number;
}

export function createNextHop(
  listener: RelayListenerConfig,
  opts: { baseDir: string; timeoutMs: number; hostname: string; maxConnections: number },
): NextHop {
  const hop = listener.nextHop;
  const tlsMode = hop.tls.mode;
  const ca = hop.tls.caFile
    ? readReferencedFile(hop.tls.caFile, opts.baseDir, `transport.listeners.${listener.name}.nextHop.tls.caFile`)
    : undefined;
  const transport = nodemailer.createTransport({
    host: hop.host,
    port: hop.port,
    name: opts.hostname,
    secure: tlsMode === 'implicit',
    requireTLS: tlsMode === 'starttls',
    // Plain mode means plain: an opportunistic STARTTLS to a lab MTA with a private CA
    // would fail verification and defer every message.
    ignoreTLS: tlsMode === 'none',
    tls: { ca, rejectUnauthorized: !hop.tls.insecureSkipVerify },
    // A few reused connections: a new TCP + EHLO per message costs more than the relay's own work.
    pool: true,
    maxConnections: opts.maxConnections,
    maxMessages: 100,
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
    dnsTimeout: opts.timeoutMs,
  });
  return {
    async send(envelope, raw) {
      try {
        await transport.sendMail({
          envelope: { from: envelope.from, to: envelope.to, use8BitMime: envelope.eightBit, size: envelope.size } as never,
          raw,
        });
      } catch (err) {
        throw toReply(err, `${hop.host}:${hop.port}`);
      }
    },
    close() {
      transport.close();
    },
  };
}

/**
 * The next hop's refusal becomes ours with the same class: a 5xx stays permanent (the
 * client bounces), anything else (4xx, connection refused, timeout) is a temporary 451
 * so the client keeps the message and retries.
 */
function toReply(err: unknown, where: string): SmtpReplyError {
  const e = err as { responseCode?: number; response?: string; code?: string; message?: string };
  const said = (e.response ?? e.message ?? String(err)).replace(/[\r\n]+/g, ' ').slice(0, 200);
  if (typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600) {
    return new SmtpReplyError(e.responseCode === 552 ? 552 : 554, `5.0.0 next hop ${where} refused: ${said}`);
  }
  return new SmtpReplyError(
    451,
    `4.4.0 next hop ${where} did not accept (${e.code ?? e.responseCode ?? 'error'}): ${said}; try again later`,
  );
}
