// DSN parameters (RFC 3461) through the relay, issue 7: "nothing that the policy allows is
// altered or lost" includes the sender's delivery-status request.
//   1. exact values on the wire: relay ─▶ sink (an smtp-server that records every parameter);
//   2. Postfix as the client: user ─▶ Postfix A submission 5871 ─relayhost─▶ relay 10025 ─▶ sink
//      (Postfix sends NOTIFY and an ORCPT with every recipient it relays);
//   3. Postfix as the next hop: client ─▶ relay ─▶ Postfix A MX 2525, which acts on what it got:
//      a "delivered" DSN back to the sender for exactly the NOTIFY=SUCCESS recipients, with the
//      ENVID, each ORCPT, and only the headers (RET=HDRS).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { POSTFIX_LAB, type PostfixInstance } from '../../lab/postfix/postfix.ts';
import { relayLimitsSchema } from '../../src/config/transport.ts';
import { encodeXtext } from '../../src/transport/nextHop.ts';
import { policyTable } from '../../src/transport/policy.ts';
import type { RelayListenerHandle, RelayOutcome } from '../../src/transport/relayListener.ts';
import { type LabPostfix, labPostfixA } from './labPostfix.ts';
import { loopbackListener, waitForOutcome } from './listener.ts';
import { type Sink, type SunkMessage, startSink, waitForMaildir, withoutTrace } from './sink.ts';
import { rawSmtp } from './smtpClient.ts';

const A = POSTFIX_LAB.a;
const table = policyTable({ internalDomains: [], policy: {} }, ['forest-a.test']);
const limits = relayLimitsSchema.parse({ nextHopTimeoutMs: 10_000 });
const outcomes: RelayOutcome[] = [];

let sink: Sink;
let oldSink: Sink;
let postfix: PostfixInstance;
let labA: LabPostfix | undefined;
const listeners: RelayListenerHandle[] = [];

async function listener(name: string, direction: 'inbound' | 'outbound', hopPort: number, port = 0): Promise<RelayListenerHandle> {
  const l = await loopbackListener(name, direction, hopPort, { table, limits, port });
  l.on('message', (o) => outcomes.push(o));
  listeners.push(l);
  return l;
}

let seq = 0;
const uid = (tag: string) => `${tag}-${process.pid}-${Date.now()}-${seq++}`;
const message = (id: string, body = 'Hello.\r\n') =>
  `Message-ID: <${id}@dsn.test>\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\nFrom: sender@forest-a.test\r\nSubject: dsn ${id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${body}`;

/** One SMTP transaction with exactly these MAIL FROM / RCPT TO lines; returns the final reply. */
async function transaction(port: number, mailFrom: string, rcpts: string[], raw: string): Promise<string> {
  const c = await rawSmtp(port);
  try {
    assert.match((await c.reply())!, /^220 /);
    assert.match((await c.command('EHLO client.test\r\n'))!, /DSN/, 'the relay offers DSN');
    assert.match((await c.command(`${mailFrom}\r\n`))!, /^250 /);
    for (const r of rcpts) assert.match((await c.command(`${r}\r\n`))!, /^250 /, r);
    assert.match((await c.command('DATA\r\n'))!, /^354/);
    return (await c.command(`${raw}.\r\n`))!;
  } finally {
    c.end();
  }
}

const outcomeFor = (id: string) => waitForOutcome(outcomes, `<${id}@dsn.test>`);

const copies = (s: Sink, id: string): SunkMessage[] => s.messages().filter((m) => m.raw.includes(`<${id}@dsn.test>`));

describe('DSN parameters through the relay', { timeout: 180_000 }, () => {
  before(async () => {
    labA = await labPostfixA();
    postfix = labA.postfix;
    sink = await startSink(mkdtempSync(join(tmpdir(), 'cf-dsn-sink-')));
    oldSink = await startSink(mkdtempSync(join(tmpdir(), 'cf-dsn-old-')), 0, { dsn: false });
  });

  after(async () => {
    await Promise.all(listeners.map((l) => l.close()));
    await Promise.all([sink?.close(), oldSink?.close()]);
    await labA?.release();
  });

  it('passes RET, ENVID and each recipient’s own NOTIFY and ORCPT on, in one transaction, xtext intact', async () => {
    const out = await listener('dsn-out', 'outbound', sink.port);
    const id = uid('wire');
    const raw = message(id);
    const reply = await transaction(
      out.port,
      `MAIL FROM:<sender@forest-a.test> RET=HDRS ENVID=${id}+2Bq+3Dx`,
      [
        'RCPT TO:<b@internet.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Balias@internet.test',
        'RCPT TO:<c@internet.test> NOTIFY=NEVER ORCPT=rfc822;orig-c@forest-a.test',
        'RCPT TO:<d@internet.test>',
        'RCPT TO:<e@internet.test> notify=delay',
      ],
      raw,
    );
    assert.match(reply, /^250 /);
    const got = copies(sink, id);
    assert.equal(got.length, 1, 'one transaction for all recipients');
    const m = got[0]!;
    assert.deepEqual(m.recipients, ['b@internet.test', 'c@internet.test', 'd@internet.test', 'e@internet.test']);
    assert.deepEqual(m.dsn, { ret: 'HDRS', envid: `${id}+q=x` });
    assert.deepEqual(m.rcptDsn, [
      { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;b+alias@internet.test' },
      { notify: ['NEVER'], orcpt: 'rfc822;orig-c@forest-a.test' },
      {},
      { notify: ['DELAY'] },
    ]);
    assert.deepEqual(m.raw, Buffer.from(raw));
  });

  it('adds nothing to a message without DSN parameters, and reused connections carry no earlier values', async () => {
    const out = listeners.find((l) => l.name === 'dsn-out') ?? (await listener('dsn-out', 'outbound', sink.port));
    const [withDsn, plain] = [uid('before'), uid('plain')];
    await transaction(
      out.port,
      `MAIL FROM:<sender@forest-a.test> RET=FULL ENVID=${withDsn}`,
      ['RCPT TO:<x@internet.test> NOTIFY=SUCCESS ORCPT=rfc822;x@internet.test'],
      message(withDsn),
    );
    const raw = message(plain, 'No DSN here.\r\n');
    assert.match(
      await transaction(out.port, 'MAIL FROM:<sender@forest-a.test>', ['RCPT TO:<x@internet.test>', 'RCPT TO:<y@internet.test>'], raw),
      /^250 /,
    );
    const m = copies(sink, plain);
    assert.equal(m.length, 1);
    assert.deepEqual(m[0]!.dsn, { ret: null, envid: null });
    assert.deepEqual(m[0]!.rcptDsn, [{}, {}]);
    assert.deepEqual(m[0]!.raw, Buffer.from(raw));
    assert.deepEqual(copies(sink, withDsn)[0]!.dsn, { ret: 'FULL', envid: withDsn });
  });

  it('still forwards to a next hop without the DSN extension, and says the request was not passed on', async () => {
    const out = await listener('dsn-old', 'outbound', oldSink.port);
    const id = uid('old');
    const raw = message(id);
    assert.match(
      await transaction(out.port, `MAIL FROM:<sender@forest-a.test> ENVID=${id}`, ['RCPT TO:<b@internet.test> NOTIFY=SUCCESS'], raw),
      /^250 /,
    );
    assert.deepEqual(copies(oldSink, id)[0]!.raw, Buffer.from(raw));
    assert.equal((await outcomeFor(id)).dsnDropped, true);
  });

  it('refuses an ENVID or ORCPT it could not pass on unchanged (not printable US-ASCII)', async () => {
    const out = listeners.find((l) => l.name === 'dsn-out')!;
    const c = await rawSmtp(out.port);
    await c.reply();
    await c.command('EHLO client.test\r\n');
    assert.match((await c.command('MAIL FROM:<a@forest-a.test> ENVID=caf+C3+A9\r\n'))!, /^501 5\.5\.4 ENVID/);
    assert.match((await c.command('MAIL FROM:<a@forest-a.test> ENVID=ok\r\n'))!, /^250 /);
    assert.match((await c.command('RCPT TO:<b@internet.test> ORCPT=rfc822;+FFb@internet.test\r\n'))!, /^501 5\.5\.4 ORCPT/);
    assert.match((await c.command('RCPT TO:<b@internet.test> ORCPT=rfc822;b@internet.test\r\n'))!, /^250 /);
    c.end();
  });

  it('Postfix as the client: the NOTIFY and ORCPT Postfix A sends with each recipient reach the next hop', async () => {
    // Postfix A's relayhost is the relay's outbound port; this listener takes that port.
    await listener('dsn-a-outbound', 'outbound', sink.port, A.relayOutboundPort);
    const id = uid('via-postfix');
    const reply = await transaction(
      A.submissionPort,
      `MAIL FROM:<sender@forest-a.test> RET=HDRS ENVID=${id}`,
      ['RCPT TO:<x@internet.test> NOTIFY=SUCCESS', 'RCPT TO:<y@internet.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;alias-y@forest-a.test'],
      message(id),
    );
    assert.match(reply, /^250 /);
    const m = await sink.waitFor(`<${id}@dsn.test>`);
    assert.deepEqual(m.dsn, { ret: 'HDRS', envid: id });
    const byRcpt = Object.fromEntries(m.recipients.map((r, i) => [r, m.rcptDsn[i]]));
    assert.deepEqual(byRcpt, {
      // Postfix names the original recipient itself when the client gave none.
      'x@internet.test': { notify: ['SUCCESS'], orcpt: 'rfc822;x@internet.test' },
      'y@internet.test': { notify: ['FAILURE', 'DELAY'], orcpt: 'rfc822;alias-y@forest-a.test' },
    });
  });

  it('Postfix as the next hop: it reports delivery to the sender for exactly the NOTIFY=SUCCESS recipients', async () => {
    const inbound = await listener('dsn-in', 'inbound', A.smtpPort);
    const id = uid('live');
    const sender = `dsn-sender-${id}@forest-a.test`;
    const rcpt = (n: number) => `dsn-rcpt${n}-${id}@forest-a.test`;
    const secret = `body-line-${id}`;
    const reply = await transaction(
      inbound.port,
      `MAIL FROM:<${sender}> RET=HDRS ENVID=${encodeXtext(`env+${id}`)}`,
      [
        `RCPT TO:<${rcpt(1)}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig1-${id}@forest-a.test`,
        `RCPT TO:<${rcpt(2)}> NOTIFY=SUCCESS ORCPT=rfc822;orig2-${id}@forest-a.test`,
        `RCPT TO:<${rcpt(3)}> NOTIFY=FAILURE ORCPT=rfc822;orig3-${id}@forest-a.test`,
        `RCPT TO:<${rcpt(4)}>`,
      ],
      message(id, `${secret}\r\n`),
    );
    assert.match(reply, /^250 /);
    // Every recipient got the message (Postfix's catch-all Maildir, one copy each).
    const delivered = await waitForMaildir(postfix.maildir, `<${id}@dsn.test>`, (m) => !m.includes('multipart/report'));
    for (let n = 1; n <= 4; n++)
      assert.ok(
        delivered.some((m) => m.includes(`Delivered-To: ${rcpt(n)}`)),
        `recipient ${n} got the message`,
      );
    // Postfix sends one success report per message, once every recipient is done.
    const [report, ...more] = await waitForMaildir(postfix.maildir, `Original-Envelope-Id: env+${id}`);
    assert.ok(report, 'Postfix sent a delivery status notification to the sender');
    assert.equal(more.length, 0);
    const text = report.toString('utf8');
    assert.match(text, new RegExp(`^Delivered-To: ${sender}$`, 'm'));
    assert.match(text, /^Content-Type: multipart\/report; report-type=delivery-status;/m);
    const finals = [...text.matchAll(/^Final-Recipient: rfc822; ?(\S+)\nOriginal-Recipient: rfc822;(\S+)\nAction: (\w+)/gm)].map((x) => [
      x[1],
      x[2],
      x[3],
    ]);
    assert.deepEqual(finals, [
      [rcpt(1), `orig1-${id}@forest-a.test`, 'delivered'],
      [rcpt(2), `orig2-${id}@forest-a.test`, 'delivered'],
    ]);
    // RET=HDRS: the report returns the header, not the body.
    assert.match(text, /^Content-Type: text\/rfc822-headers$/m);
    assert.ok(!text.includes(secret), 'RET=HDRS: the body is not returned');
  });

  it('Postfix as the next hop: a message without DSN parameters arrives unchanged', async () => {
    const inbound = listeners.find((l) => l.name === 'dsn-in')!;
    const id = uid('live-plain');
    const raw = message(id, 'Grüße, no DSN.\r\n');
    assert.match(
      await transaction(inbound.port, 'MAIL FROM:<someone@internet.test>', [`RCPT TO:<dsn-plain-${id}@forest-a.test>`], raw),
      /^250 /,
    );
    const got = await waitForMaildir(postfix.maildir, `<${id}@dsn.test>`);
    assert.equal(got.length, 1);
    // Maildir stores LF line ends; that is the mailbox format, not a change by the relay.
    assert.deepEqual(withoutTrace(got[0]!), Buffer.from(raw.replaceAll('\r\n', '\n')));
  });
});
