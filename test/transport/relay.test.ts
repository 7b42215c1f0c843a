// Live: the policy relay as forest A's smart host and inbound gateway, with the lab's
// Postfix A on either side and a sink standing in for the Internet.
//   outbound: client ─▶ Postfix A submission 5871 ─relayhost─▶ relay 10025 ─▶ sink
//   inbound:  client ─▶ relay 10125 ─▶ Postfix A MX 2525 ─▶ .lab/postfix-a/mail/inbox
//   Recipients are addresses the directory does not know (relay.tester@…): the lab's
//   Postfix delivers directory addresses to the real Dovecot mailboxes, others to the sink Maildir.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { POSTFIX_LAB, type PostfixInstance } from '../../lab/postfix/postfix.ts';
import { type Relay, startRelay } from '../../src/transport/relay.ts';
import type { RelayOutcome } from '../../src/transport/relayListener.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { labProject, replaceSection } from '../helpers/project.ts';
import { type LabPostfix, labPostfixA } from './labPostfix.ts';
import { waitForOutcome } from './listener.ts';
import { type Sink, startSink, waitForMaildir, withoutTrace } from './sink.ts';

const A = POSTFIX_LAB.a;
let sink: Sink;
let relay: Relay;
let postfix: PostfixInstance;
let labA: LabPostfix | undefined;
let labDir: string;
let project: ReturnType<typeof labProject>;
const outcomes: RelayOutcome[] = [];

function transportSection(sinkPort: number, labDir: string): string {
  return `
transport:
  policy:
    '*': { onBlock: reject }
    partner.test: { partner: true }
    quiet.test: { onBlock: drop }
  listeners:
    - name: a-outbound
      direction: outbound
      listen: { host: 127.0.0.1, port: ${A.relayOutboundPort} }
      nextHop: { host: 127.0.0.1, port: ${sinkPort} }
    - name: a-inbound
      direction: inbound
      listen: { host: 127.0.0.1, port: ${A.relayInboundPort} }
      nextHop: { host: 127.0.0.1, port: ${A.smtpPort} }
    - name: a-inbound-tls
      direction: inbound
      listen: { host: 127.0.0.1, port: 0 }
      tls: { certFile: ${labDir}/tls/server.crt, keyFile: ${labDir}/tls/server.key }
      nextHop: { host: 127.0.0.1, port: ${A.smtpPort}, tls: { mode: starttls, caFile: ${labDir}/tls/ca.crt } }
`;
}

async function startRelayWatched(): Promise<Relay> {
  const r = await startRelay(project, { logger: silentLogger });
  for (const l of r.listeners) l.on('message', (o) => outcomes.push(o));
  return r;
}

const outcomeFor = (messageId: string) => waitForOutcome(outcomes, `<${messageId}>`);

/** Sends raw bytes over SMTP (no TLS: loopback lab). `from: ''` is the null sender. */
async function send(port: number, from: string, to: string[], raw: string | Buffer): Promise<void> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
  try {
    await t.sendMail({ envelope: { from, to } as never, raw });
  } finally {
    t.close();
  }
}

/** `crossforest relay --listener a-outbound` as a child process; resolves once it listens. */
async function spawnRelay(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [join(process.cwd(), 'bin', 'crossforest.js'), '-c', project.path, 'relay', '--listener', 'a-outbound'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      if (err.includes('crossforest relay: a-outbound on port')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`relay exited (${code}): ${err}`)));
  });
  return child;
}

const execFileP = promisify(execFile);

let seq = 0;
function uid(tag: string): string {
  return `${tag}.${process.pid}.${Date.now()}.${seq++}@relay-test.forest-a.test`;
}

function message(id: string, headers: string, body = 'Hello.\r\n'): string {
  return `Message-ID: <${id}>\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n${headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}`;
}

describe('relay in front of Postfix A (live)', { timeout: 180_000 }, () => {
  before(async () => {
    labA = await labPostfixA();
    postfix = labA.postfix;
    labDir = labA.labDir;
    sink = await startSink(mkdtempSync(join(tmpdir(), 'cf-sink-')));
    project = labProject(labDir, (t) => replaceSection(t, 'transport', transportSection(sink.port, labDir)));
    relay = await startRelayWatched();
  });

  after(async () => {
    await relay?.close();
    await sink?.close();
    await labA?.release();
  });

  it('blocks an out-of-office reply to an outside domain and passes one to a partner', async () => {
    const outside = uid('oof-outside');
    const partner = uid('oof-partner');
    const oof = (id: string, to: string) =>
      message(
        id,
        `From: José Müller <relay.tester@forest-a.test>\r\nTo: ${to}\r\nSubject: Out of Office AutoReply: Need V1agra?\r\nAuto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\nIn-Reply-To: <spam@spammer.test>\r\n`,
        'I will be out of the office until June 5.\r\n',
      );
    await send(A.submissionPort, '', ['victim@internet.test'], oof(outside, 'victim@internet.test'));
    await send(A.submissionPort, '', ['colleague@partner.test'], oof(partner, 'colleague@partner.test'));
    const blocked = await outcomeFor(outside);
    assert.equal(blocked.result, 'rejected');
    assert.equal(blocked.decision?.classification.kind, 'outOfOffice');
    assert.match(blocked.reply, /^550 5\.7\.1 out-of-office reply to internet\.test blocked by policy/);
    const passed = await sink.waitFor(partner);
    assert.deepEqual(passed.recipients, ['colleague@partner.test']);
    assert.equal(passed.mailFrom, '');
    assert.equal(sink.messages().filter((m) => m.raw.includes(outside)).length, 0, 'the blocked OOF never reached the Internet');
  });

  it('splits a mixed OOF: the partner gets it, the outside recipient is withheld; drop mode answers 250', async () => {
    const mixed = uid('oof-mixed');
    const quiet = uid('oof-quiet');
    const oof = (id: string) =>
      message(id, 'From: relay.tester@forest-a.test\r\nTo: many\r\nSubject: Out of Office: away\r\nAuto-Submitted: auto-replied\r\n');
    await send(A.submissionPort, '', ['x@internet.test', 'y@partner.test'], oof(mixed));
    await send(A.submissionPort, '', ['z@quiet.test'], oof(quiet));
    const m = await outcomeFor(mixed);
    assert.equal(m.result, 'forwarded');
    assert.deepEqual(m.decision?.allowed, ['y@partner.test']);
    assert.deepEqual(m.decision?.blocked, [{ recipient: 'x@internet.test', policy: '*' }]);
    assert.deepEqual((await sink.waitFor(mixed)).recipients, ['y@partner.test']);
    const q = await outcomeFor(quiet);
    assert.equal(q.result, 'dropped');
    assert.equal(sink.messages().filter((x) => x.raw.includes(quiet)).length, 0);
  });

  it('passes a non-delivery report to an outside domain', async () => {
    const id = uid('ndr');
    const raw =
      `Message-ID: <${id}>\r\nFrom: MAILER-DAEMON@forest-a.test\r\nTo: sender@internet.test\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n` +
      `--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail-a.forest-a.test\r\n\r\nFinal-Recipient: rfc822; nobody@forest-a.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b1--\r\n`;
    await send(A.submissionPort, '', ['sender@internet.test'], raw);
    const arrived = await sink.waitFor(id);
    assert.equal((await outcomeFor(id)).decision?.classification.kind, 'nonDeliveryReport');
    assert.deepEqual(withoutTrace(arrived.raw), Buffer.from(raw), 'the NDR arrives unchanged');
  });

  it('blocks an automatic forward to the outside, and the user gets the bounce', async () => {
    const id = uid('fwd');
    const raw = message(
      id,
      'From: Partner <someone@partner.test>\r\nTo: relay.tester@forest-a.test\r\nSubject: Q3 numbers (confidential)\r\nX-MS-Exchange-Inbox-Rules-Loop: relay.tester@forest-a.test\r\nResent-From: relay.tester@forest-a.test\r\nResent-To: private.account@freemail.test\r\n',
    );
    await send(A.submissionPort, 'relay.tester@forest-a.test', ['private.account@freemail.test'], raw);
    const o = await outcomeFor(id);
    assert.equal(o.result, 'rejected');
    assert.equal(o.decision?.classification.kind, 'autoForward');
    // Postfix turns the 550 into a bounce to the user, delivered in forest A.
    const bounce = await waitForMaildir(postfix.maildir, id, (m) => m.includes('5.7.1'));
    assert.equal(bounce.length, 1, 'the forwarding user is told why');
    assert.match(bounce[0]!.toString('latin1'), /automatic forward to freemail\.test blocked by policy/);
    assert.equal(sink.messages().filter((m) => m.raw.includes(id)).length, 0);
  });

  it('passes ordinary outbound mail byte for byte (8-bit body, UTF-8 headers)', async () => {
    const id = uid('plain-out');
    const raw = message(
      id,
      'From: Zoë Ångström <relay.tester2@forest-a.test>\r\nTo: buyer@internet.test\r\nSubject: Angebot für Q3 – 日本語\r\n',
      'Grüße aus Zürich.\r\n.leading dot line\r\n\r\n',
    );
    await send(A.submissionPort, 'relay.tester2@forest-a.test', ['buyer@internet.test'], Buffer.from(raw, 'utf8'));
    const arrived = await sink.waitFor(id);
    assert.deepEqual(withoutTrace(arrived.raw), Buffer.from(raw, 'utf8'));
  });

  it('strips read-receipt requests from inbound mail and changes no other byte', async () => {
    const id = uid('dnt-in');
    const keep = message(
      id,
      'From: Outsider <someone@internet.test>\r\nTo: relay.tester@forest-a.test\r\nSubject: Please confirm\r\nX-Folded: one\r\n  two\r\n',
      'Body line 1\r\nBody line 2 with ümlaut\r\n',
    );
    const [head, body] = keep.split('\r\n\r\n') as [string, string];
    const withRequests = `${head}\r\nDisposition-Notification-To: someone@internet.test\r\nRead-Receipt-To: someone@internet.test\r\nReturn-Receipt-To: <someone@internet.test>\r\n\r\n${body}`;
    await send(A.relayInboundPort, 'someone@internet.test', ['relay.tester@forest-a.test'], Buffer.from(withRequests, 'utf8'));
    const o = await outcomeFor(id);
    assert.deepEqual(o.decision?.stripHeaders, ['disposition-notification-to', 'read-receipt-to', 'return-receipt-to']);
    const got = await waitForMaildir(postfix.maildir, id);
    assert.equal(got.length, 1);
    // Maildir stores LF line ends; that is the mailbox format, not a change by the relay.
    assert.deepEqual(withoutTrace(got[0]!), Buffer.from(keep.replaceAll('\r\n', '\n'), 'utf8'));
  });

  it('keeps read-receipt requests from a partner (policy) and inbound mail arrives unchanged', async () => {
    const id = uid('dnt-partner');
    const raw = message(
      id,
      'From: Partner <p@partner.test>\r\nTo: relay.tester@forest-a.test\r\nSubject: Contract\r\nDisposition-Notification-To: p@partner.test\r\n',
    );
    await send(A.relayInboundPort, 'p@partner.test', ['relay.tester@forest-a.test'], raw);
    const got = await waitForMaildir(postfix.maildir, id);
    assert.deepEqual(withoutTrace(got[0]!), Buffer.from(raw.replaceAll('\r\n', '\n')));
  });

  it('takes STARTTLS from clients and uses STARTTLS (verified against the lab CA) to the next hop', async () => {
    const id = uid('tls-in');
    const raw = message(
      id,
      'From: o@internet.test\r\nTo: relay.tester@forest-a.test\r\nSubject: over TLS\r\nDisposition-Notification-To: o@internet.test\r\n',
    );
    const port = relay.listeners.find((l) => l.name === 'a-inbound-tls')!.port;
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      requireTLS: true,
      tls: { ca: readFileSync(join(labDir, 'tls', 'ca.crt')), servername: 'localhost' },
    });
    try {
      await t.sendMail({ envelope: { from: 'o@internet.test', to: ['relay.tester@forest-a.test'] } as never, raw });
    } finally {
      t.close();
    }
    const got = await waitForMaildir(postfix.maildir, id);
    assert.equal(got.length, 1);
    // Postfix records that the relay came in over TLS ("ESMTPS").
    assert.match(got[0]!.toString('latin1'), /with ESMTPS id /);
    assert.doesNotMatch(got[0]!.toString('latin1'), /Disposition-Notification-To/);
  });

  it('loses nothing when the relay process is killed (SIGKILL) mid-stream and started again', async () => {
    // The in-process relay makes way for `crossforest relay` as a process of its own.
    await relay.close();
    let child = await spawnRelay();
    const ids = Array.from({ length: 30 }, (_, i) => uid(`restart-${i}`));
    const sending = (async () => {
      for (const id of ids) {
        await send(
          A.submissionPort,
          'lwisniewski@forest-a.test',
          ['list@internet.test'],
          message(id, 'From: lwisniewski@forest-a.test\r\nTo: list@internet.test\r\nSubject: batch\r\n'),
        );
      }
    })();
    await sink.waitFor(ids[3]!);
    child.kill('SIGKILL');
    await once(child, 'exit');
    await sending;
    child = await spawnRelay();
    // Postfix retries what it deferred while the relay was down on its own schedule, which
    // under load has stretched past a minute (one message sat in the deferred queue until
    // its next scan); ask for the retry now, as an operator would after a restart.
    await execFileP('postqueue', ['-c', join(postfix.dir, 'conf'), '-f']);
    try {
      for (const id of ids) await sink.waitFor(id, 60_000);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    const counts = ids.map((id) => sink.messages().filter((m) => m.raw.includes(id)).length);
    assert.ok(
      counts.every((c) => c >= 1),
      'every message arrived',
    );
    relay = await startRelayWatched();
  });
});
