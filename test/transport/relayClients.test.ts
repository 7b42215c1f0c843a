// Who may relay (issue 17): a listener on a non-loopback address without clients.allow or
// clients.accounts refuses to start and binds nothing; an allow-listed address relays and
// another is refused at connect; SMTP AUTH is offered only after STARTTLS, a right password
// relays and a wrong one does not, and without logging in a client off the list gets 530.
// Live: real relay listeners in front of a sink, clients bound to different 127.x addresses,
// the lab's certificate for TLS.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { labCertificatePaths } from '../../lab/tls.ts';
import { relayLimitsSchema, relayListenerSchema } from '../../src/config/transport.ts';
import { RelayError } from '../../src/transport/errors.ts';
import { policyTable } from '../../src/transport/policy.ts';
import { type RelayListenerHandle, startRelayListener } from '../../src/transport/relayListener.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { ensureLab } from '../helpers/lab.ts';
import { type Sink, startSink } from './sink.ts';
import { rawSmtp } from './smtpClient.ts';

const table = policyTable({ internalDomains: [], policy: {} }, ['forest-a.test']);
const limits = relayLimitsSchema.parse({ socketTimeoutMs: 5_000, nextHopTimeoutMs: 5_000 });
let sink: Sink;
let dir: string;
let certs: { cert: string; key: string; ca: string };
const handles: RelayListenerHandle[] = [];

function start(listener: Record<string, unknown>): Promise<RelayListenerHandle> {
  return startRelayListener({
    listener: relayListenerSchema.parse({ direction: 'outbound', nextHop: { host: '127.0.0.1', port: sink.port }, ...listener }),
    limits,
    table,
    hostname: 'relay.test',
    baseDir: dir,
    logger: silentLogger,
  }).then((h) => {
    handles.push(h);
    return h;
  });
}

/** Nothing accepts a TCP connection on host:port. */
function nothingListens(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

let n = 0;
const mail = (tag: string) => {
  const id = `${tag}.${process.pid}.${n++}@clients.test`;
  return { id, raw: `Message-ID: <${id}>\r\nFrom: a@forest-a.test\r\nTo: b@internet.test\r\nSubject: ${tag}\r\n\r\nbody\r\n` };
};

describe('relay clients: allow-list and SMTP AUTH (live)', { timeout: 60_000 }, () => {
  before(async () => {
    const lab = await ensureLab();
    const p = labCertificatePaths(lab.labDir);
    certs = { cert: p.cert, key: p.key, ca: p.caCert };
    dir = mkdtempSync(join(tmpdir(), 'cf-relay-clients-'));
    writeFileSync(join(dir, 'relay-user.pw'), 'right-horse-battery\n', { mode: 0o600 });
    sink = await startSink(join(dir, 'sink'));
  });
  after(async () => {
    for (const h of handles) await h.close();
    await sink.close();
  });

  it('a listener on 0.0.0.0 with neither clients.allow nor clients.accounts refuses to start, naming the fix, and binds nothing', async () => {
    const port = 25_000 + (process.pid % 5_000);
    await assert.rejects(start({ name: 'wide-open', listen: { host: '0.0.0.0', port } }), (err: Error) => {
      assert.ok(err instanceof RelayError);
      assert.match(err.message, /relay listener wide-open would be an open relay on 0\.0\.0\.0:\d+/);
      assert.match(String(err.hint), /clients\.allow/);
      assert.equal(err.object, 'transport.listeners.wide-open.clients');
      return true;
    });
    assert.equal(await nothingListens('127.0.0.1', port), true);
    // Accounts without TLS are refused the same way: AUTH would go in clear.
    await assert.rejects(
      start({
        name: 'auth-clear',
        listen: { host: '0.0.0.0', port },
        clients: { accounts: [{ name: 'u', password: { file: 'relay-user.pw' } }] },
      }),
      /has clients\.accounts but no tls/,
    );
  });

  it('an allow-listed address relays; another address is refused at connect', async () => {
    const h = await start({ name: 'allow', listen: { host: '127.0.0.1', port: 0 }, clients: { allow: ['127.0.0.2', '127.0.9.0/24'] } });
    for (const from of ['127.0.0.2', '127.0.9.7']) {
      const c = await rawSmtp(h.port, { localAddress: from });
      assert.match((await c.reply())!, /^220 /);
      assert.match((await c.command('EHLO client.test\r\n'))!, /^250/);
      assert.match((await c.command('MAIL FROM:<a@forest-a.test>\r\n'))!, /^250/, from);
      c.end();
    }
    const m = mail('allowed');
    await nodemailer
      .createTransport({ host: '127.0.0.1', port: h.port, secure: false, ignoreTLS: true, localAddress: '127.0.0.2' })
      .sendMail({ envelope: { from: 'a@forest-a.test', to: ['b@internet.test'] }, raw: m.raw });
    await sink.waitFor(m.id);
    const refused = await rawSmtp(h.port, { localAddress: '127.0.0.3' });
    assert.match((await refused.reply())!, /^554 5\.7\.1 127\.0\.0\.3 may not use this relay/);
    refused.end();
  });

  it('SMTP AUTH only after STARTTLS; the right password relays, a wrong one gets 535, no login and off the list gets 530', async () => {
    const h = await start({
      name: 'auth',
      listen: { host: '127.0.0.1', port: 0 },
      tls: { certFile: certs.cert, keyFile: certs.key },
      clients: { allow: ['127.0.0.2'], accounts: [{ name: 'mta-b', password: { file: 'relay-user.pw' } }] },
    });
    const c = await rawSmtp(h.port, { localAddress: '127.0.0.5' });
    assert.match((await c.reply())!, /^220 /);
    const ehlo = (await c.command('EHLO client.test\r\n'))!;
    assert.match(ehlo, /STARTTLS/);
    assert.doesNotMatch(ehlo, /AUTH/, 'AUTH must not be offered before TLS');
    assert.match((await c.command(`AUTH PLAIN ${Buffer.from('\0mta-b\0right-horse-battery').toString('base64')}\r\n`))!, /^5\d\d /);
    assert.match((await c.command('MAIL FROM:<a@forest-a.test>\r\n'))!, /^530 5\.7\.0/);
    c.end();

    // nodemailer as the sending MTA: STARTTLS required, the lab CA trusted, then AUTH.
    const transport = (pass: string) =>
      nodemailer.createTransport({
        host: '127.0.0.1',
        port: h.port,
        secure: false,
        requireTLS: true,
        tls: { ca: [readFileSync(certs.ca, 'utf8')], servername: 'localhost' },
        auth: { user: 'mta-b', pass },
        localAddress: '127.0.0.5',
      });
    const envelope = { from: 'a@forest-a.test', to: ['b@internet.test'] };
    await assert.rejects(
      transport('wrong').sendMail({ envelope, raw: mail('auth').raw }),
      (err: { responseCode?: number }) => err.responseCode === 535,
    );
    const ok = mail('auth-ok');
    await transport('right-horse-battery').sendMail({ envelope, raw: ok.raw });
    await sink.waitFor(ok.id);
  });
});
