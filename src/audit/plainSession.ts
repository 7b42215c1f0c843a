// What a server says on a plain connection, before any TLS: its greeting and its
// capabilities (IMAP CAPABILITY, SMTP EHLO, POP3 CAPA). That is where clear-text
// authentication shows: AUTH=PLAIN without LOGINDISABLED, AUTH in EHLO, USER in CAPA.
// Also the SMTP dialogue of the open-relay test (MAIL and RCPT only, never DATA).
import type { Socket } from 'node:net';
import { openSocket, readReply } from './tlsProbe.ts';

export interface PlainCapabilities {
  greeting: string;
  /** Capability words, upper-cased (IMAP atoms, EHLO keywords, CAPA lines). */
  capabilities: string[];
  starttls: boolean;
  /** SASL mechanisms or login commands offered on this plain connection. */
  authOffered: string[];
}

const smtpDone = (l: string) => /^\d{3} /.test(l);
const popDone = (l: string) => l.startsWith('+OK') || l.startsWith('-ERR');

/** Runs `fn` on a plain connection with one deadline for all of it; the socket is always closed. */
export async function withPlainSocket<T>(host: string, port: number, timeoutMs: number, fn: (s: Socket) => Promise<T>): Promise<T> {
  let socket: Socket | undefined;
  const timer = setTimeout(() => socket?.destroy(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
  try {
    socket = await Promise.race([
      openSocket(host, port),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`cannot connect to ${host}:${port} within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
    return await fn(socket);
  } finally {
    clearTimeout(timer);
    socket?.destroy();
  }
}

async function ask(socket: Socket, line: string, done: (l: string) => boolean): Promise<string[]> {
  const reply: string[] = [];
  socket.write(`${line}\r\n`);
  await readReply(socket, done, reply);
  return reply;
}

export function plainCapabilities(
  protocol: 'imap' | 'smtp' | 'submission' | 'pop3',
  host: string,
  port: number,
  timeoutMs: number,
): Promise<PlainCapabilities> {
  return withPlainSocket(host, port, timeoutMs, async (s) => {
    if (protocol === 'imap') return imapCaps(s);
    if (protocol === 'pop3') return popCaps(s);
    return smtpCaps(s);
  });
}

async function imapCaps(s: Socket): Promise<PlainCapabilities> {
  const greet: string[] = [];
  await readReply(s, (l) => l.startsWith('* '), greet);
  const reply = await ask(s, 'cf1 CAPABILITY', (l) => l.startsWith('cf1 '));
  const words = reply
    .filter((l) => /^\* CAPABILITY /i.test(l))
    .flatMap((l) => l.slice('* CAPABILITY '.length).trim().split(/\s+/))
    .map((w) => w.toUpperCase());
  s.write('cf2 LOGOUT\r\n');
  const loginDisabled = words.includes('LOGINDISABLED');
  const sasl = words.filter((w) => w.startsWith('AUTH=')).map((w) => w.slice(5));
  return {
    greeting: greet[0] ?? '',
    capabilities: words,
    starttls: words.includes('STARTTLS'),
    // LOGIN is always an IMAP command unless LOGINDISABLED says it is refused.
    authOffered: loginDisabled ? [] : [...new Set(['LOGIN', ...sasl])],
  };
}

async function smtpCaps(s: Socket): Promise<PlainCapabilities> {
  const greet: string[] = [];
  await readReply(s, smtpDone, greet);
  const ehlo = await ask(s, 'EHLO crossforest-audit.invalid', smtpDone);
  s.write('QUIT\r\n');
  const words = ehlo.slice(1).map((l) => l.slice(4).trim().toUpperCase());
  const auth = words.find((w) => w === 'AUTH' || w.startsWith('AUTH ') || w.startsWith('AUTH='));
  return {
    greeting: greet.at(-1) ?? '',
    capabilities: words,
    starttls: words.includes('STARTTLS'),
    authOffered: auth ? auth.slice(5).split(/\s+/).filter(Boolean) : [],
  };
}

async function popCaps(s: Socket): Promise<PlainCapabilities> {
  const greet: string[] = [];
  await readReply(s, popDone, greet);
  s.write('CAPA\r\n');
  const capa: string[] = [];
  await readReply(s, (l) => l === '.' || l.startsWith('-ERR'), capa);
  s.write('QUIT\r\n');
  const words = capa
    .slice(1)
    .filter((l) => l !== '.')
    .map((l) => l.trim().toUpperCase());
  const sasl =
    words
      .find((w) => w.startsWith('SASL'))
      ?.split(/\s+/)
      .slice(1) ?? [];
  return {
    greeting: greet[0] ?? '',
    capabilities: words,
    starttls: words.includes('STLS'),
    authOffered: [...(words.includes('USER') ? ['USER'] : []), ...sasl],
  };
}

export interface RelayProbe {
  /** The server accepted RCPT TO an outside domain from an outside sender, unauthenticated. */
  relayed: boolean;
  /** The replies, for the report. */
  transcript: string[];
}

/** MAIL FROM and RCPT TO an outside domain; never DATA, so no message is ever sent. */
export function probeOpenRelay(host: string, port: number, domain: string, timeoutMs: number): Promise<RelayProbe> {
  return withPlainSocket(host, port, timeoutMs, async (s) => {
    const transcript: string[] = [];
    const step = async (line: string | undefined) => {
      const reply: string[] = [];
      if (line === undefined) await readReply(s, smtpDone, reply);
      else {
        s.write(`${line}\r\n`);
        await readReply(s, smtpDone, reply);
      }
      const last = reply.at(-1) ?? '';
      transcript.push(`${line ?? '(greeting)'} → ${last}`);
      return last;
    };
    await step(undefined);
    const ehlo = await step('EHLO crossforest-audit.invalid');
    if (!ehlo.startsWith('250')) await step('HELO crossforest-audit.invalid');
    const mail = await step(`MAIL FROM:<crossforest-audit-sender@${domain}>`);
    if (!mail.startsWith('250')) return { relayed: false, transcript };
    const rcpt = await step(`RCPT TO:<crossforest-audit-recipient@${domain}>`);
    s.write('RSET\r\nQUIT\r\n');
    return { relayed: /^25[01]/.test(rcpt), transcript };
  });
}
