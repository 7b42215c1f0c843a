// The project file `crossforest init` writes, against the lab it describes: its relay
// listeners are the ones the lab's Postfix instances use as relayhost and MX, `crossforest
// relay` starts from it unchanged and handles real mail through both Postfix instances,
// its dashboard operator logs in with the lab's secret, and every endpoint its audit
// section lists answers. (The other sections are exercised by the check, sync, mail,
// migration and coexistence tests, which all start from the same example.)
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { AD_STORES } from '../../lab/mailstore/stores.ts';
import {
  labPostfixSpec,
  POSTFIX_AD_LAB,
  POSTFIX_LAB,
  type PostfixInstance,
  postfixRunning,
  startPostfix,
  stopPostfix,
} from '../../lab/postfix/postfix.ts';
import { DASHBOARD_OPERATOR, DASHBOARD_OPERATOR_HASH, readSecret } from '../../lab/secrets.ts';
import { auditEndpoints } from '../../src/audit/audit.ts';
import { projectEndpoints } from '../../src/audit/endpoints.ts';
import { buildServer } from '../../src/coexistence/server.ts';
import { exampleProjectFile, LAB_INTERNET_PORT } from '../../src/config/example.ts';
import { AD_POSTFIX_PORTS } from '../../src/config/exampleDirectory.ts';
import { parseProject } from '../../src/config/load.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { ensureLab } from '../helpers/lab.ts';
import { labProject, type TestProject } from '../helpers/project.ts';
import { waitForMaildir, withoutTrace } from '../transport/sink.ts';

const CLI = new URL('../../bin/crossforest.js', import.meta.url).pathname;
const ORGS = ['a', 'b'] as const;

describe('the init example (unit)', () => {
  const cfg = parseProject(exampleProjectFile());

  it("the Samba example's SMTP ports are the Samba-mode Postfix pair's, and its stores the Dovecots that read the DCs", () => {
    for (const org of ORGS) {
      assert.deepEqual(AD_POSTFIX_PORTS[org], { smtp: POSTFIX_AD_LAB[org].smtpPort, submission: POSTFIX_AD_LAB[org].submissionPort });
    }
    const samba = parseProject(exampleProjectFile('samba'));
    assert.equal(samba.organizations.a?.mailStore?.port, AD_STORES.a.imapPort);
    assert.equal(samba.organizations.b?.mailStore?.port, AD_STORES.b.imapsPort);
    const inbound = (samba.transport?.listeners ?? []).filter((l) => l.direction === 'inbound').map((l) => l.nextHop.port);
    assert.deepEqual(inbound, [POSTFIX_AD_LAB.a.smtpPort, POSTFIX_AD_LAB.b.smtpPort]);
  });

  it("has relay listeners where the lab's Postfix instances send and take mail", () => {
    const listeners = cfg.transport?.listeners ?? [];
    const got = listeners.map((l) => `${l.name} ${l.direction} ${l.listen.host}:${l.listen.port} -> ${l.nextHop.host}:${l.nextHop.port}`);
    const want = ORGS.flatMap((org) => {
      const p = POSTFIX_LAB[org];
      return [
        // Postfix's relayhost ([127.0.0.1]:1002x, lab/postfix) is the outbound listener.
        `${org}-outbound outbound 127.0.0.1:${p.relayOutboundPort} -> 127.0.0.1:${LAB_INTERNET_PORT}`,
        `${org}-inbound inbound 127.0.0.1:${p.relayInboundPort} -> 127.0.0.1:${p.smtpPort}`,
      ];
    });
    assert.deepEqual(got, want);
    const policy = cfg.transport?.policy['*'];
    assert.equal(policy?.onBlock, 'reject');
    assert.equal(policy?.outOfOffice, undefined, "the seed's defaults (OOF blocked) are not overridden");
  });

  it("names the lab's dashboard operator hash and lists each organization's SMTP endpoints for the audit", () => {
    assert.deepEqual(cfg.coexistence?.dashboard?.operators, [
      { name: DASHBOARD_OPERATOR, password: { file: `.lab/secrets/${DASHBOARD_OPERATOR_HASH}` } },
    ]);
    const eps = (cfg.audit?.endpoints ?? []).map((e) => `${e.organization} ${e.protocol} ${e.port}`);
    for (const org of ORGS) {
      assert.ok(eps.includes(`${org} smtp ${POSTFIX_LAB[org].smtpPort}`), eps.join(', '));
      assert.ok(eps.includes(`${org} submission ${POSTFIX_LAB[org].submissionPort}`), eps.join(', '));
    }
    assert.equal(cfg.audit?.caFile, '.lab/tls/ca.crt');
  });
});

/** A JSON log line of `crossforest relay` (CROSSFOREST_LOG_LEVEL=info) about one message. */
interface RelayLogLine {
  listener: string;
  messageId?: string;
  kind?: string;
  result?: string;
  reply?: string;
  stripped?: string[];
}

describe('the init example against the lab (live)', { timeout: 180_000 }, () => {
  let project: TestProject;
  let labDir: string;
  let relay: ChildProcess | undefined;
  const logLines: RelayLogLine[] = [];
  const postfix: Partial<Record<(typeof ORGS)[number], PostfixInstance>> = {};
  const startedPostfix: string[] = [];

  before(async () => {
    const lab = await ensureLab();
    labDir = lab.labDir;
    project = labProject(labDir);
    for (const org of ORGS) {
      const spec = labPostfixSpec(labDir, org);
      if (!postfixRunning(spec)) startedPostfix.push(spec.dir);
      postfix[org] = await startPostfix(spec);
    }
  });

  after(async () => {
    relay?.kill('SIGTERM');
    for (const dir of startedPostfix) await stopPostfix(dir);
  });

  it('crossforest relay starts every listener of the example', async () => {
    const child = spawn(process.execPath, [CLI, '-c', project.path, 'relay'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, CROSSFOREST_LOG_LEVEL: 'info' },
    });
    relay = child;
    let err = '';
    const banner = await new Promise<string>((resolve, reject) => {
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        err += d;
        const m = /crossforest relay: .*/.exec(err);
        if (m) resolve(m[0]);
      });
      child.once('exit', (code) => reject(new Error(`crossforest relay exited (${code}): ${err}`)));
    });
    let buffered = '';
    child.stderr!.on('data', (d: string) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const l of lines) if (l.startsWith('{')) logLines.push(JSON.parse(l) as RelayLogLine);
    });
    assert.equal(
      banner,
      'crossforest relay: a-outbound on port 10025, a-inbound on port 10125, b-outbound on port 10026, b-inbound on port 10126',
    );
  });

  const decision = async (messageId: string): Promise<RelayLogLine> => {
    const end = Date.now() + 30_000;
    for (;;) {
      const hit = logLines.find((l) => l.messageId === `<${messageId}>` && l.result !== undefined);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`the relay logged nothing about ${messageId}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const send = async (port: number, from: string, to: string, raw: string): Promise<void> => {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
    try {
      await t.sendMail({ envelope: { from, to: [to] } as never, raw });
    } finally {
      t.close();
    }
  };

  for (const org of ORGS) {
    it(`an out-of-office reply from forest ${org.toUpperCase()} to the Internet leaves Postfix through ${org}-outbound and is refused`, async () => {
      assert.ok(relay, 'the relay runs');
      const id = `example-oof-${org}.${process.pid}.${Date.now()}@forest-${org}.test`;
      const raw = `Message-ID: <${id}>\r\nFrom: relay.tester@forest-${org}.test\r\nTo: victim@internet.test\r\nSubject: Automatic reply: offer\r\nAuto-Submitted: auto-replied\r\nIn-Reply-To: <spam@spammer.test>\r\n\r\nI am out of the office.\r\n`;
      // The submission port stands in for an authenticated user; Postfix relays via its relayhost.
      await send(POSTFIX_LAB[org].submissionPort, '', 'victim@internet.test', raw);
      const d = await decision(id);
      assert.equal(d.listener, `${org}-outbound`);
      assert.equal(d.kind, 'outOfOffice');
      assert.equal(d.result, 'rejected');
      assert.match(d.reply ?? '', /^550 5\.7\.1 out-of-office reply to internet\.test blocked by policy/);
    });

    it(`mail from the Internet through ${org}-inbound reaches Postfix ${org.toUpperCase()} without its read-receipt request`, async () => {
      assert.ok(relay, 'the relay runs');
      const id = `example-dnt-${org}.${process.pid}.${Date.now()}@internet.test`;
      // Not a directory address: Postfix delivers it to its catch-all Maildir.
      const to = `relay.tester@forest-${org}.test`;
      const keep = `Message-ID: <${id}>\r\nFrom: someone@internet.test\r\nTo: ${to}\r\nSubject: Please confirm\r\n`;
      await send(
        POSTFIX_LAB[org].relayInboundPort,
        'someone@internet.test',
        to,
        `${keep}Disposition-Notification-To: someone@internet.test\r\n\r\nHello.\r\n`,
      );
      assert.deepEqual((await decision(id)).stripped, ['disposition-notification-to']);
      const got = await waitForMaildir(postfix[org]!.maildir, id);
      assert.equal(got.length, 1, `delivered once to ${postfix[org]!.maildir}`);
      assert.equal(withoutTrace(got[0]!).toString('utf8'), `${keep}\r\nHello.\r\n`.replaceAll('\r\n', '\n'));
    });
  }

  it("the dashboard takes the lab operator's password, checked against the hash the example names", async () => {
    const app = await buildServer(project, { logger: silentLogger });
    try {
      const login = (password: string) =>
        app.inject({
          method: 'POST',
          url: '/dashboard/login',
          headers: { 'content-type': 'application/json' },
          payload: { name: DASHBOARD_OPERATOR, password },
        });
      assert.equal((await login(readSecret(labDir, 'dashboard-ops.pw'))).statusCode, 200);
      assert.equal((await login('not-the-password')).statusCode, 401);
    } finally {
      await app.close();
    }
  });

  it('audit: every endpoint the example lists answers, and the relay policy passes', async () => {
    const cfg = project.config.audit;
    assert.ok(cfg);
    const listed = projectEndpoints(project).filter((e) => e.source.startsWith('audit.endpoints'));
    assert.equal(listed.length, cfg.endpoints.length);
    const report = await auditEndpoints(listed, project, { ...cfg, logger: silentLogger });
    for (const e of listed) {
      const mine = report.findings.filter((x) => x.endpoint === `${e.protocol} ${e.host}:${e.port}`);
      // A `reachable` finding is only written when nothing answers.
      assert.equal(
        mine.find((x) => x.check === 'reachable'),
        undefined,
        `${e.protocol} ${e.host}:${e.port} does not answer`,
      );
      assert.equal(mine.find((x) => x.check === 'tls-offered')?.status, 'pass', JSON.stringify(mine));
    }
    for (const check of ['auto-replies-blocked', 'read-receipts-stripped'] as const)
      assert.equal(report.findings.find((f) => f.check === check)?.status, 'pass', check);
  });
});
