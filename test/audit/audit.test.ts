// Live: `crossforest audit` against the lab's Dovecot (1431 plain + STARTTLS, 9931
// implicit TLS) and two Postfix instances made for this test, one closed and one an
// open relay (ports 2535/5881 and 2536/5882, folders .lab/postfix-audit-*).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type PostfixInstance, startPostfix, stopPostfix } from '../../lab/postfix/postfix.ts';
import { auditEndpoints } from '../../src/audit/audit.ts';
import { parseTarget } from '../../src/audit/endpoints.ts';
import type { AuditReport, Finding } from '../../src/audit/types.ts';
import { auditSchema } from '../../src/config/audit.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { ensureLab } from '../helpers/lab.ts';
import { labProject, replaceSection } from '../helpers/project.ts';

let closed: PostfixInstance;
let open: PostfixInstance;
let labDir: string;
const opts = { ...auditSchema.parse({}), logger: silentLogger };

function pick(report: AuditReport, endpoint: string, check: Finding['check']): Finding {
  const f = report.findings.find((x) => x.endpoint === endpoint && x.check === check);
  assert.ok(f, `no ${check} finding for ${endpoint}: ${JSON.stringify(report.findings.filter((x) => x.endpoint === endpoint))}`);
  return f;
}

describe('audit (live)', { timeout: 120_000 }, () => {
  before(async () => {
    const lab = await ensureLab();
    labDir = lab.labDir;
    const tls = { certFile: join(labDir, 'tls', 'server.crt'), keyFile: join(labDir, 'tls', 'server.key') };
    const common = { mailDomain: 'forest-a.test', relayhost: '[127.0.0.1]:9', tls };
    [closed, open] = await Promise.all([
      startPostfix({ ...common, name: 'audit-closed', dir: join(labDir, 'postfix-audit-closed'), smtpPort: 2535, submissionPort: 5881 }),
      startPostfix({
        ...common,
        name: 'audit-open',
        dir: join(labDir, 'postfix-audit-open'),
        smtpPort: 2536,
        submissionPort: 5882,
        openRelay: true,
      }),
    ]);
  });
  after(async () => {
    await Promise.all([closed && stopPostfix(closed.dir), open && stopPostfix(open.dir)]);
  });

  it('flags clear-text authentication before STARTTLS on IMAP 1431', async () => {
    const report = await auditEndpoints([parseTarget('imap://127.0.0.1:1431', undefined)], undefined, opts);
    const f = pick(report, 'imap 127.0.0.1:1431', 'cleartext-auth');
    assert.equal(f.status, 'fail');
    assert.match(f.detail, /PLAIN/);
    assert.match(f.fix, /disable_plaintext_auth/);
    assert.equal(pick(report, 'imap 127.0.0.1:1431', 'tls-offered').detail.startsWith('STARTTLS'), true);
    assert.equal(report.failed, true);
  });

  it('passes the implicit-TLS port 9931 and reports its certificate untrusted without the lab CA', async () => {
    const report = await auditEndpoints([parseTarget('imap://127.0.0.1:9931', undefined)], undefined, opts);
    const ep = 'imap 127.0.0.1:9931';
    assert.equal(pick(report, ep, 'tls-offered').status, 'pass');
    assert.match(pick(report, ep, 'tls-versions').detail, /^accepts TLSv1\.2, TLSv1\.3$/);
    const trust = pick(report, ep, 'certificate-trust');
    assert.equal(trust.status, 'warn');
    assert.match(trust.detail, /^untrusted: /);
    assert.equal(pick(report, ep, 'certificate-name').status, 'pass');
    assert.equal(report.failed, false, JSON.stringify(report.findings.filter((f) => f.status === 'fail')));
  });

  it('trusts the same certificate when the lab CA is given', async () => {
    const { readFileSync } = await import('node:fs');
    const ca = readFileSync(join(labDir, 'tls', 'ca.crt'));
    const report = await auditEndpoints([parseTarget('imap://127.0.0.1:9931', ca)], undefined, opts);
    assert.equal(pick(report, 'imap 127.0.0.1:9931', 'certificate-trust').status, 'pass');
  });

  it('flags the open-relay Postfix and passes the closed one', async () => {
    const report = await auditEndpoints(
      [parseTarget('smtp://127.0.0.1:2535', undefined), parseTarget('smtp://127.0.0.1:2536', undefined)],
      undefined,
      opts,
    );
    const closedRelay = pick(report, 'smtp 127.0.0.1:2535', 'open-relay');
    assert.equal(closedRelay.status, 'pass');
    assert.match(closedRelay.detail, /Relay access denied/);
    const openRelay = pick(report, 'smtp 127.0.0.1:2536', 'open-relay');
    assert.equal(openRelay.status, 'fail');
    assert.match(openRelay.fix, /reject_unauth_destination/);
    assert.equal(pick(report, 'smtp 127.0.0.1:2535', 'tls-offered').detail.startsWith('STARTTLS'), true);
    assert.equal(pick(report, 'smtp 127.0.0.1:2535', 'cleartext-auth').status, 'pass');
  });

  it('audits LDAP: StartTLS on 3891 (the lab slapd), ldaps on 6362', async () => {
    const report = await auditEndpoints(
      [parseTarget('ldap://127.0.0.1:3891', undefined), parseTarget('ldap://127.0.0.1:6362', undefined)],
      undefined,
      opts,
    );
    assert.match(pick(report, 'ldap 127.0.0.1:3891', 'tls-offered').detail, /^STARTTLS, TLSv1\.[23]$/);
    assert.match(pick(report, 'ldap 127.0.0.1:6362', 'tls-offered').detail, /^implicit TLS, TLSv1\.[23]$/);
    // Whatever the lab's slapd accepts, the versions finding names them all.
    assert.match(pick(report, 'ldap 127.0.0.1:6362', 'tls-versions').detail, /TLSv1\.2/);
  });

  it('never probes a host that is not loopback or owned', async () => {
    const report = await auditEndpoints([parseTarget('smtp://192.0.2.25:25', undefined)], undefined, opts);
    assert.deepEqual(
      report.findings.map((f) => [f.check, f.status]),
      [['owned', 'skip']],
    );
  });

  it('checks the relay policy of the project file', async () => {
    const without = labProject(labDir, (t) => replaceSection(t, 'transport'));
    const r1 = await auditEndpoints([], without, opts);
    assert.equal(r1.findings.find((f) => f.check === 'auto-replies-blocked')?.status, 'fail');
    const leaky = labProject(labDir, (t) =>
      replaceSection(
        t,
        'transport',
        `transport:\n  policy:\n    '*': { outOfOffice: allow }\n  listeners:\n    - { name: out, direction: outbound, listen: { port: 10099 }, nextHop: { host: 127.0.0.1, port: 25 } }\n`,
      ),
    );
    const r2 = await auditEndpoints([], leaky, opts);
    const f2 = r2.findings.find((f) => f.check === 'auto-replies-blocked')!;
    assert.equal(f2.status, 'fail');
    assert.match(f2.fix, /outOfOffice: block/);
    const good = labProject(labDir, (t) =>
      replaceSection(
        t,
        'transport',
        `transport:\n  listeners:\n    - { name: out, direction: outbound, listen: { port: 10099 }, nextHop: { host: 127.0.0.1, port: 25 } }\n    - { name: in, direction: inbound, listen: { port: 10098 }, nextHop: { host: 127.0.0.1, port: 25 } }\n`,
      ),
    );
    const r3 = await auditEndpoints([], good, opts);
    assert.deepEqual(
      r3.findings.map((f) => [f.check, f.status]),
      [
        ['auto-replies-blocked', 'pass'],
        ['read-receipts-stripped', 'pass'],
      ],
    );
  });

  it('crossforest audit --json exits 1 on a failure and 0 without', () => {
    const cli = join(process.cwd(), 'bin', 'crossforest.js');
    const bad = spawnSync(cli, ['--json', 'audit', '--targets-only', 'imap://127.0.0.1:1431'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(bad.status, 1, bad.stderr);
    const report = JSON.parse(bad.stdout) as AuditReport;
    assert.ok(report.findings.some((f) => f.check === 'cleartext-auth' && f.status === 'fail'));
    const good = spawnSync(cli, ['--json', 'audit', '--targets-only', 'imap://127.0.0.1:9931'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(good.status, 0, good.stderr);
    const bogus = spawnSync(cli, ['audit', '--targets-only', 'not-a-target'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(bogus.status, 1);
    assert.match(bogus.stderr, /is not host:port/);
  });
});
