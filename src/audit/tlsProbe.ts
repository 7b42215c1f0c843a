// Looks at the TLS an endpoint offers: implicit TLS, or STARTTLS on IMAP/SMTP/POP3.
// node:tls does the handshake; only the few plaintext lines before STARTTLS are ours,
// because no maintained client exposes the peer certificate of an upgraded socket.
import { connect as netConnect, type Socket } from 'node:net';
import { type PeerCertificate, type TLSSocket, connect as tlsConnect } from 'node:tls';

export type TlsMode = 'implicit' | 'starttls-imap' | 'starttls-smtp' | 'starttls-pop3' | 'starttls-ldap';

export interface TlsProbeOptions {
  host: string;
  port: number;
  mode: TlsMode;
  /** Name the certificate must match; defaults to host. */
  servername?: string;
  /** PEM of the CA(s) to verify against; the system store when absent. */
  ca?: string | Buffer;
  /** Timeout of the whole probe, in milliseconds. Default 5,000. */
  timeoutMs?: number;
  /** Extra node:tls options (e.g. minVersion/maxVersion/ciphers to test old protocols). */
  tlsOptions?: Record<string, unknown>;
}

export interface CertificateSummary {
  subject: string;
  issuer: string;
  subjectAltName: string;
  validFrom: string;
  validTo: string;
  daysLeft: number;
  selfSigned: boolean;
  fingerprint256: string;
}

export interface TlsProbeResult {
  /** The certificate verified against the CA and matched the name. */
  authorized: boolean;
  /** Why it did not verify (e.g. SELF_SIGNED_CERT_IN_CHAIN, ERR_TLS_CERT_ALTNAME_INVALID). */
  authorizationError: string | undefined;
  protocol: string | null;
  cipher: string;
  certificate: CertificateSummary | undefined;
  /** What the server said before the handshake (greeting, capability lines). */
  preamble: string[];
}

export async function probeTls(opts: TlsProbeOptions): Promise<TlsProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  let raw: Socket | undefined;
  let secure: TLSSocket | undefined;
  const timer = setTimeout(() => {
    raw?.destroy(new Error(`no TLS handshake with ${opts.host}:${opts.port} within ${timeoutMs} ms`));
    secure?.destroy(new Error(`no TLS handshake with ${opts.host}:${opts.port} within ${timeoutMs} ms`));
  }, timeoutMs);
  try {
    const preamble: string[] = [];
    if (opts.mode !== 'implicit') {
      raw = await openSocket(opts.host, opts.port);
      await startTls(raw, opts.mode, preamble);
    }
    secure = await handshake(opts, raw);
    const cert = secure.getPeerCertificate(false);
    const cipher = secure.getCipher();
    // Name checks are done by node:tls only when rejectUnauthorized; redo them here.
    let authorizationError = secure.authorizationError ? String(secure.authorizationError) : undefined;
    if (!authorizationError && cert && Object.keys(cert).length > 0) {
      const { checkServerIdentity } = await import('node:tls');
      const nameErr = checkServerIdentity(opts.servername ?? opts.host, cert);
      if (nameErr) authorizationError = (nameErr as NodeJS.ErrnoException).code ?? nameErr.message;
    }
    return {
      authorized: !authorizationError,
      authorizationError,
      protocol: secure.getProtocol(),
      cipher: cipher?.name ?? '',
      certificate: cert && Object.keys(cert).length > 0 ? summarize(cert) : undefined,
      preamble,
    };
  } finally {
    clearTimeout(timer);
    secure?.destroy();
    raw?.destroy();
  }
}

function summarize(cert: PeerCertificate): CertificateSummary {
  const validTo = new Date(cert.valid_to);
  const name = (n: PeerCertificate['subject'] | undefined) =>
    n
      ? Object.entries(n)
          .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
          .join(', ')
      : '';
  return {
    subject: name(cert.subject),
    issuer: name(cert.issuer),
    subjectAltName: cert.subjectaltname ?? '',
    validFrom: new Date(cert.valid_from).toISOString(),
    validTo: validTo.toISOString(),
    daysLeft: Math.floor((validTo.getTime() - Date.now()) / 86_400_000),
    selfSigned: name(cert.subject) === name(cert.issuer),
    fingerprint256: cert.fingerprint256,
  };
}

/**
 * Opens the plain connection every plaintext look (greeting, capabilities, STARTTLS, the
 * open-relay dialogue) starts with, seen as a client on another host would see it.
 *
 * Dovecot counts a client whose address equals the server's own address as secured and
 * then offers plaintext authentication whatever disable_plaintext_auth says: an audit run
 * on the mail server over 127.0.0.1 would flag a server that refuses clear text to every
 * real client. So a loopback IPv4 target is reached from another 127/8 address (Linux
 * answers on all of 127/8); where that address cannot be bound, from the default one.
 */
export async function openSocket(host: string, port: number): Promise<Socket> {
  const localAddress = remoteViewSource(host);
  if (localAddress) {
    try {
      return await connectFrom(host, port, localAddress);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EADDRNOTAVAIL' && code !== 'EINVAL') throw err;
    }
  }
  return connectFrom(host, port, undefined);
}

/** The source address for a loopback IPv4 target: another address of 127/8; undefined for anything else. */
export function remoteViewSource(host: string): string | undefined {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return undefined;
  return host === '127.0.0.254' ? '127.0.0.253' : '127.0.0.254';
}

function connectFrom(host: string, port: number, localAddress: string | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host, port, ...(localAddress ? { localAddress } : {}) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function handshake(opts: TlsProbeOptions, socket: Socket | undefined): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const base = {
      servername: isIp(opts.servername ?? opts.host) ? undefined : (opts.servername ?? opts.host),
      ca: opts.ca,
      rejectUnauthorized: false,
      ...opts.tlsOptions,
    };
    const s = socket ? tlsConnect({ ...base, socket }) : tlsConnect({ ...base, host: opts.host, port: opts.port });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

function isIp(name: string): boolean {
  return /^[\d.]+$/.test(name) || name.includes(':');
}

/** Reads lines until `done` says the reply is complete. */
export function readReply(socket: Socket, done: (line: string) => boolean, into: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        into.push(line);
        if (done(line)) {
          cleanup();
          resolve();
          return;
        }
        nl = buf.indexOf('\n');
      }
      if (buf.length > 65_536) fail(new Error('reply line too long'));
    };
    const onClose = () => fail(new Error('connection closed before STARTTLS completed'));
    const fail = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('close', onClose);
  });
}

async function startTls(socket: Socket, mode: Exclude<TlsMode, 'implicit'>, preamble: string[]): Promise<void> {
  if (mode === 'starttls-imap') {
    await readReply(socket, (l) => l.startsWith('* '), preamble);
    socket.write('cf1 STARTTLS\r\n');
    const reply: string[] = [];
    await readReply(socket, (l) => l.startsWith('cf1 '), reply);
    preamble.push(...reply);
    if (!reply.at(-1)?.startsWith('cf1 OK')) throw new Error(`STARTTLS refused: ${reply.at(-1)}`);
  } else if (mode === 'starttls-smtp') {
    const isLast = (l: string) => /^\d{3} /.test(l);
    await readReply(socket, isLast, preamble);
    socket.write('EHLO crossforest.invalid\r\n');
    await readReply(socket, isLast, preamble);
    socket.write('STARTTLS\r\n');
    const reply: string[] = [];
    await readReply(socket, isLast, reply);
    preamble.push(...reply);
    if (!reply.at(-1)?.startsWith('220')) throw new Error(`STARTTLS refused: ${reply.at(-1)}`);
  } else if (mode === 'starttls-ldap') {
    await ldapStartTls(socket, preamble);
  } else {
    await readReply(socket, (l) => l.startsWith('+OK') || l.startsWith('-ERR'), preamble);
    socket.write('STLS\r\n');
    const reply: string[] = [];
    await readReply(socket, (l) => l.startsWith('+OK') || l.startsWith('-ERR'), reply);
    preamble.push(...reply);
    if (!reply.at(-1)?.startsWith('+OK')) throw new Error(`STLS refused: ${reply.at(-1)}`);
  }
}

/**
 * LDAP StartTLS (RFC 4511 §4.14): one fixed ExtendedRequest, messageID 1, OID
 * 1.3.6.1.4.1.1466.20037; the ExtendedResponse's resultCode 0 means go ahead.
 */
const LDAP_STARTTLS_OID = '1.3.6.1.4.1.1466.20037';

function ldapStartTls(socket: Socket, preamble: string[]): Promise<void> {
  const oid = Buffer.from(LDAP_STARTTLS_OID, 'latin1');
  const ext = Buffer.concat([Buffer.from([0x80, oid.length]), oid]);
  const op = Buffer.concat([Buffer.from([0x77, ext.length]), ext]);
  const msg = Buffer.concat([Buffer.from([0x02, 0x01, 0x01]), op]);
  socket.write(Buffer.concat([Buffer.from([0x30, msg.length]), msg]));
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      // LDAPMessage: SEQUENCE { messageID INTEGER, ExtendedResponse [APPLICATION 24] { resultCode ENUMERATED … } }
      const enumAt = resultCodeOffset(buf);
      if (enumAt < 0 || buf.length < enumAt + 3) {
        if (buf.length > 4096 || enumAt === -2) finish(new Error('no LDAP ExtendedResponse to StartTLS'));
        return;
      }
      const code = buf[enumAt + 2]!;
      preamble.push(`LDAP StartTLS resultCode ${code}`);
      finish(code === 0 ? undefined : new Error(`StartTLS refused: LDAP resultCode ${code}`));
    };
    const onClose = () => finish(new Error('connection closed before StartTLS completed'));
    const finish = (err?: Error) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', finish);
      if (err) reject(err);
      else resolve();
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', finish);
  });
}

/** Offset of the resultCode ENUMERATED in an ExtendedResponse; -1 = need more bytes, -2 = not one. */
function resultCodeOffset(buf: Buffer): number {
  let i = 0;
  const skipLength = (): boolean => {
    const first = buf[i];
    if (first === undefined) return false;
    i += 1 + (first & 0x80 ? first & 0x7f : 0);
    return i <= buf.length;
  };
  if (buf.length < 2) return -1;
  if (buf[i++] !== 0x30) return -2;
  if (!skipLength()) return -1;
  if (buf[i] !== 0x02) return buf.length > i ? -2 : -1;
  i += 2 + (buf[i + 1] ?? 0);
  if (buf.length <= i) return -1;
  if (buf[i++] !== 0x78) return -2;
  if (!skipLength()) return -1;
  if (buf.length <= i) return -1;
  return buf[i] === 0x0a ? i : -2;
}
