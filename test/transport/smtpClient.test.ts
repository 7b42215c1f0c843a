// The relay's own SMTP client (src/transport/smtpClient.ts) against a real smtp-server on
// port 0, and against a scripted server for what smtp-server will not do (dribbled and
// multi-line replies, connections dropped mid-transaction, silence). No lab needed.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { ensureLabCertificates, type LabCertificates } from '../../lab/tls.ts';
import { relayListenerSchema } from '../../src/config/transport.ts';
import { DotStuffer } from '../../src/transport/dotStuffing.ts';
import { SmtpClientError } from '../../src/transport/errors.ts';
import { createNextHop } from '../../src/transport/nextHop.ts';
import { SmtpClient, type SmtpClientOptions, type SmtpEnvelope } from '../../src/transport/smtpClient.ts';

interface Received {
  from: string;
  to: string[];
  secure: boolean;
  raw: Buffer;
}

interface TestServer {
  port: number;
  received: Received[];
  close(): Promise<void>;
}

/** smtp-server on 127.0.0.1:0 keeping what it receives; `refuse` answers RCPT, `dataReply` the end of the data. */
async function smtpServer(
  options: SMTPServerOptions = {},
  hooks: { refuse?: Record<string, number>; dataReply?: number } = {},
): Promise<TestServer> {
  const received: Received[] = [];
  const server = new SMTPServer({
    logger: false,
    size: 10_000_000,
    hideDSN: false,
    authOptional: true,
    disabledCommands: ['AUTH'],
    ...options,
    onRcptTo(address, _session, cb) {
      const code = hooks.refuse?.[address.address];
      if (code) cb(Object.assign(new Error(`${code === 450 ? '4.2.0 try later' : '5.1.1 no such user'}`), { responseCode: code }));
      else cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (hooks.dataReply) return cb(Object.assign(new Error('refused by the test'), { responseCode: hooks.dataReply }));
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          secure: session.secure,
          raw: Buffer.concat(chunks),
        });
        cb();
      });
    },
  });
  server.on('error', () => undefined); // client socket errors (the TLS refusal tests) are re-emitted here
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A scripted server: each command line goes to `answer`, which returns the reply to send,
 * 'drop' to destroy the connection, or undefined for the default dialogue. DATA is read to
 * its final dot and answered 250.
 */
async function scriptedServer(
  answer: (line: string, conn: { n: number; socket: Socket }) => string | 'drop' | undefined,
  greeting = '220 scripted.test ESMTP\r\n',
): Promise<{ port: number; connections: number; server: Server }> {
  let connections = 0;
  const server = createServer((socket) => {
    const conn = { n: connections++, socket };
    socket.on('error', () => undefined);
    if (greeting) socket.write(greeting);
    let buf = '';
    let inData = false;
    socket.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          buf = buf.slice(end + 5);
          inData = false;
          socket.write('250 2.0.0 taken\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const said = answer(line, conn);
        if (said === 'drop') {
          socket.destroy();
          return;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (said !== undefined) socket.write(said);
        else if (verb === 'EHLO') socket.write('250-scripted.test\r\n250 8BITMIME\r\n');
        else if (verb === 'DATA') {
          socket.write('354 go on\r\n');
          inData = true;
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    server,
    get connections() {
      return connections;
    },
  };
}

const options = (port: number, more: Partial<SmtpClientOptions> = {}): SmtpClientOptions => ({
  host: '127.0.0.1',
  port,
  name: 'relay.test',
  tls: 'none',
  connectionTimeoutMs: 5_000,
  greetingTimeoutMs: 5_000,
  socketTimeoutMs: 5_000,
  ...more,
});

const envelope = (to: string[], more: Partial<SmtpEnvelope> = {}): SmtpEnvelope => ({
  from: 'a@forest-a.test',
  to: to.map((address) => ({ address, dsnArgs: '' })),
  eightBit: false,
  size: 0,
  dsnArgs: '',
  ...more,
});

const message = (body: string) => `From: a@forest-a.test\r\nSubject: client test\r\n\r\n${body}`;

/** The error `work` rejects with, checked to be an SmtpClientError. */
async function failure(work: Promise<unknown>): Promise<SmtpClientError> {
  try {
    await work;
  } catch (err) {
    assert.ok(err instanceof SmtpClientError, `an SmtpClientError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a failure');
}

describe('DotStuffer', () => {
  const stuff = (chunks: string[]) => {
    const s = new DotStuffer();
    return Buffer.concat([...chunks.map((c) => s.feed(Buffer.from(c, 'latin1'))), s.finish()]).toString('latin1');
  };

  it('doubles a leading dot, also across chunk boundaries, and ends with CRLF.CRLF', () => {
    assert.equal(stuff(['.\r\n..x\r\n', 'a.b\r\n']), '..\r\n...x\r\na.b\r\n.\r\n');
    assert.equal(stuff(['a\r', '\n', '.', 'x']), 'a\r\n..x\r\n.\r\n');
    assert.equal(stuff([]), '.\r\n');
    assert.equal(stuff(['no line end']), 'no line end\r\n.\r\n');
  });

  it('makes bare LF and bare CR into CRLF, so "<LF>.<LF>" cannot end the data early', () => {
    assert.equal(stuff(['a\n.\nb']), 'a\r\n..\r\nb\r\n.\r\n');
    assert.equal(stuff(['a\r.\rb\r']), 'a\r\n..\r\nb\r\n.\r\n');
  });

  it('gives back the same buffer when nothing changes', () => {
    const chunk = Buffer.from('plain\r\nlines\r\n');
    assert.equal(new DotStuffer().feed(chunk), chunk);
  });
});

describe('SmtpClient against smtp-server', { timeout: 60_000 }, () => {
  let plain: TestServer;
  let certs: LabCertificates;

  before(async () => {
    plain = await smtpServer();
    certs = await ensureLabCertificates(mkdtempSync(join(tmpdir(), 'cf-smtpclient-tls-')));
  });
  after(() => plain.close());

  it('reads the multi-line EHLO: SIZE, 8BITMIME, SMTPUTF8, DSN, PIPELINING, STARTTLS', async () => {
    const c = await SmtpClient.connect(options(plain.port));
    try {
      for (const ext of ['SIZE', '8BITMIME', 'SMTPUTF8', 'DSN', 'PIPELINING', 'STARTTLS']) assert.ok(c.extensions.has(ext), ext);
    } finally {
      c.quit();
    }
  });

  it('delivers lines "." and "..x" intact (dot-stuffing), with the message split at awkward places', async () => {
    const c = await SmtpClient.connect(options(plain.port));
    const raw = message('.\r\n..x\r\n.y\r\nlast\r\n');
    const body = raw.indexOf('\r\n\r\n') + 4;
    // '.' | CR | LF '.' | the rest: each line start falls on or next to a chunk boundary.
    const chunks = [raw.slice(0, body + 1), raw.slice(body + 1, body + 2), raw.slice(body + 2, body + 4), raw.slice(body + 4)];
    const r = await c.send(envelope(['b@internet.test']), Readable.from(chunks.map((s) => Buffer.from(s))));
    assert.equal(r.reply.code, 250);
    assert.deepEqual(r.accepted, ['b@internet.test']);
    const got = plain.received.at(-1)!;
    assert.equal(got.raw.toString(), raw);
    // A second message on the same connection, 8-bit, SIZE and SMTPUTF8 on MAIL FROM.
    const utf8 = message('Grüße\r\n');
    await c.send(envelope(['müller@internet.test'], { eightBit: true, size: Buffer.byteLength(utf8) }), Readable.from([Buffer.from(utf8)]));
    assert.deepEqual(plain.received.at(-1)!.to, ['müller@internet.test']);
    assert.equal(plain.received.at(-1)!.raw.toString('utf8'), utf8);
    c.quit();
  });

  it('passes DSN parameters only to a server that offers DSN', async () => {
    const seen: string[] = [];
    const s = await scriptedServer((line) => {
      seen.push(line);
      return line.startsWith('EHLO') ? '250-scripted.test\r\n250-DSN\r\n250 PIPELINING\r\n' : undefined;
    });
    const env = envelope(['b@internet.test'], { dsnArgs: ' RET=HDRS ENVID=x+2By' });
    env.to[0]!.dsnArgs = ' NOTIFY=SUCCESS ORCPT=rfc822;b@internet.test';
    const c = await SmtpClient.connect(options(s.port));
    await c.send(env, Readable.from([Buffer.from(message('x\r\n'))]));
    c.quit();
    s.server.close();
    assert.ok(seen.includes('MAIL FROM:<a@forest-a.test> RET=HDRS ENVID=x+2By'), seen.join(' | '));
    assert.ok(seen.includes('RCPT TO:<b@internet.test> NOTIFY=SUCCESS ORCPT=rfc822;b@internet.test'));
    const old = await smtpServer({ hideDSN: true });
    const c2 = await SmtpClient.connect(options(old.port));
    await c2.send(env, Readable.from([Buffer.from(message('x\r\n'))]));
    assert.equal(c2.extensions.has('DSN'), false);
    c2.quit();
    await old.close();
  });

  it('upgrades with STARTTLS, verified against the CA, and refuses an unverified or missing STARTTLS', async () => {
    const tls = await smtpServer({ key: readFileSync(certs.key), cert: readFileSync(certs.cert) });
    try {
      const ca = readFileSync(certs.caCert);
      const c = await SmtpClient.connect(options(tls.port, { tls: 'starttls', ca }));
      assert.equal(c.extensions.has('STARTTLS'), false, 'the second EHLO, over TLS');
      await c.send(envelope(['b@internet.test']), Readable.from([Buffer.from(message('secret\r\n'))]));
      assert.equal(tls.received.at(-1)!.secure, true);
      c.quit();
      assert.equal((await failure(SmtpClient.connect(options(tls.port, { tls: 'starttls' })))).code, 'ETLS');
      const ok = await SmtpClient.connect(options(tls.port, { tls: 'starttls', rejectUnauthorized: false }));
      ok.quit();
    } finally {
      await tls.close();
    }
    const noTls = await smtpServer({ hideSTARTTLS: true });
    assert.equal((await failure(SmtpClient.connect(options(noTls.port, { tls: 'starttls' })))).code, 'ETLS');
    await noTls.close();
    const smtps = await smtpServer({ secure: true, key: readFileSync(certs.key), cert: readFileSync(certs.cert) });
    const c = await SmtpClient.connect(options(smtps.port, { tls: 'implicit', ca: readFileSync(certs.caCert) }));
    await c.send(envelope(['b@internet.test']), Readable.from([Buffer.from(message('smtps\r\n'))]));
    assert.equal(smtps.received.at(-1)!.secure, true);
    c.quit();
    await smtps.close();
  });

  for (const pipelining of [true, false]) {
    it(`reports refusals at RCPT (4xx and 5xx) and at the end of DATA, and the connection stays usable (${pipelining ? 'with' : 'without'} PIPELINING)`, async () => {
      const picky = await smtpServer(
        { hidePIPELINING: !pipelining },
        { refuse: { 'gone@internet.test': 550, 'later@internet.test': 450 } },
      );
      const c = await SmtpClient.connect(options(picky.port));
      try {
        assert.equal(c.extensions.has('PIPELINING'), pipelining);
        const some = await c.send(envelope(['b@internet.test', 'gone@internet.test']), Readable.from([Buffer.from(message('a\r\n'))]));
        assert.deepEqual(some.accepted, ['b@internet.test']);
        assert.deepEqual(
          some.refused.map((r) => [r.recipient, r.reply.code]),
          [['gone@internet.test', 550]],
        );
        assert.deepEqual(picky.received.at(-1)!.to, ['b@internet.test']);
        // Every recipient refused: the temporary refusal wins (the sender retries, no bounce).
        const all = await failure(c.send(envelope(['gone@internet.test', 'later@internet.test']), Readable.from([Buffer.from('x')])));
        assert.equal(all.code, 'EENVELOPE');
        assert.equal(all.responseCode, 450);
        assert.match(all.response ?? '', /^450 /);
        assert.equal(c.usable, true);
        // Next message on the same connection (begins with RSET).
        await c.send(envelope(['c@internet.test']), Readable.from([Buffer.from(message('after\r\n'))]));
        assert.deepEqual(picky.received.at(-1)!.to, ['c@internet.test']);
      } finally {
        c.quit();
        await picky.close();
      }
    });
  }

  for (const code of [552, 451]) {
    it(`carries a ${code} at the end of DATA as EMESSAGE with its code`, async () => {
      const refusing = await smtpServer({}, { dataReply: code });
      const c = await SmtpClient.connect(options(refusing.port));
      const err = await failure(c.send(envelope(['b@internet.test']), Readable.from([Buffer.from(message('x\r\n'))])));
      assert.equal(err.code, 'EMESSAGE');
      assert.equal(err.responseCode, code);
      assert.equal(err.command, 'DATA');
      assert.equal(c.usable, true);
      c.quit();
      await refusing.close();
    });
  }

  it('refuses at DATA (the command) with EENVELOPE and the code', async () => {
    const s = await scriptedServer((line) => (line === 'DATA' ? '554 5.5.1 no valid recipients\r\n' : undefined));
    const c = await SmtpClient.connect(options(s.port));
    const err = await failure(c.send(envelope(['b@internet.test']), Readable.from([Buffer.from('x')])));
    assert.deepEqual([err.code, err.responseCode, err.command], ['EENVELOPE', 554, 'DATA']);
    c.quit();
    s.server.close();
  });
});

describe('SmtpClient against a scripted server', { timeout: 30_000 }, () => {
  it('reads a multi-line greeting and an EHLO reply that comes one byte at a time', async () => {
    const ehlo = '250-scripted.test hello\r\n250-SIZE 1000\r\n250-PIPELINING\r\n250-DSN\r\n250 8BITMIME\r\n';
    const s = await scriptedServer((line, conn) => {
      if (!line.startsWith('EHLO')) return undefined;
      let i = 0;
      const drip = () => {
        if (i < ehlo.length) conn.socket.write(ehlo[i++]!, () => setTimeout(drip, 1));
      };
      drip();
      return '';
    }, '220-scripted.test first line\r\n220-second line\r\n220 ready\r\n');
    const c = await SmtpClient.connect(options(s.port));
    assert.deepEqual(
      [...c.extensions],
      [
        ['SIZE', '1000'],
        ['PIPELINING', ''],
        ['DSN', ''],
        ['8BITMIME', ''],
      ],
    );
    c.quit();
    s.server.close();
  });

  it('fails with ECONNECTION when the server drops the connection at RCPT or in the middle of DATA', async () => {
    const atRcpt = await scriptedServer((line) => (line.startsWith('RCPT') ? 'drop' : undefined));
    const c = await SmtpClient.connect(options(atRcpt.port));
    const err = await failure(c.send(envelope(['b@internet.test']), Readable.from([Buffer.from('x')])));
    assert.equal(err.code, 'ECONNECTION');
    assert.equal(c.usable, false);
    await c.closed;
    atRcpt.server.close();

    const midData = await scriptedServer(() => undefined);
    midData.server.on('connection', (socket) => {
      socket.on('data', (chunk: Buffer) => {
        if (chunk.includes('half of the message')) socket.destroy();
      });
    });
    const d = await SmtpClient.connect(options(midData.port));
    const body = new Readable({ read() {} });
    body.push(Buffer.from(message('half of the message\r\n')));
    const dropped = await failure(d.send(envelope(['b@internet.test']), body));
    assert.ok(['ECONNECTION', 'ESOCKET'].includes(dropped.code), dropped.code);
    midData.server.close();
  });

  it('times out on a server that never greets, and on one that stops answering', async () => {
    const mute = await scriptedServer(() => undefined, '');
    const started = Date.now();
    const err = await failure(SmtpClient.connect(options(mute.port, { greetingTimeoutMs: 300 })));
    assert.equal(err.code, 'ETIMEDOUT');
    assert.ok(Date.now() - started < 3_000);
    mute.server.close();
    const stalls = await scriptedServer((line) => (line.startsWith('MAIL') ? '' : undefined));
    const c = await SmtpClient.connect(options(stalls.port, { socketTimeoutMs: 300 }));
    const stalled = await failure(c.send(envelope(['b@internet.test']), Readable.from([Buffer.from('x')])));
    assert.deepEqual([stalled.code, stalled.command], ['ETIMEDOUT', 'MAIL FROM']);
    stalls.server.close();
  });

  it('refuses a server that says anything after its STARTTLS reply (command injection)', async () => {
    const s = await scriptedServer((line) => {
      if (line.startsWith('EHLO')) return '250-scripted.test\r\n250 STARTTLS\r\n';
      if (line === 'STARTTLS') return '220 go ahead\r\n250 injected\r\n';
      return undefined;
    });
    assert.equal((await failure(SmtpClient.connect(options(s.port, { tls: 'starttls' })))).code, 'EPROTOCOL');
    s.server.close();
  });

  it('the pool retries once on a fresh connection when a reused one died before the message went out', async () => {
    // The server drops each connection at its second MAIL FROM: a reused connection dies.
    const mails = new Map<number, number>();
    const s = await scriptedServer((line, conn) => {
      if (!line.startsWith('MAIL')) return undefined;
      mails.set(conn.n, (mails.get(conn.n) ?? 0) + 1);
      return mails.get(conn.n)! > 1 ? 'drop' : undefined;
    });
    const hop = createNextHop(
      relayListenerSchema.parse({ name: 'pool', direction: 'outbound', listen: { port: 0 }, nextHop: { host: '127.0.0.1', port: s.port } }),
      { baseDir: process.cwd(), timeoutMs: 5_000, hostname: 'relay.test', maxConnections: 1 },
    );
    const env = { from: 'a@forest-a.test', to: [{ address: 'b@internet.test' }], eightBit: false, size: 10 };
    try {
      for (let i = 0; i < 3; i++) {
        const r = await hop.send(env, () => Readable.from([Buffer.from(message(`${i}\r\n`))]));
        assert.deepEqual(r, { dsnDropped: false, refused: [] });
      }
      assert.equal(s.connections, 3, 'messages 2 and 3 each found the pooled connection dead and took a new one');
    } finally {
      hop.close();
      s.server.close();
    }
  });
});
