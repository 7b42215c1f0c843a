// Live: the audit's POP3 checks against real Dovecot.
//   - the lab's Dovecot A: POP3 on 1101 (STLS offered, plaintext auth allowed as on every
//     lab store) and pop3s on 9951 (the lab's certificate, untrusted without the lab CA);
//   - a Dovecot made by this test from the same generator with disable_plaintext_auth = yes
//     (store "audit-strict": POP3 1102, pop3s 9952, IMAP 1451, IMAPS 9961, LMTP 2421),
//     authenticating against forest A's directory: what the audit passes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FORESTS } from '../../lab/forests.ts';
import { startDovecot, stopDovecot, writeDovecotConfig } from '../../lab/mailstore/dovecot.ts';
import { authDirectoryOfForest } from '../../lab/mailstore/ldapConfig.ts';
import { STORES, type StoreDef, type StorePaths } from '../../lab/mailstore/stores.ts';
import { readSecret } from '../../lab/secrets.ts';
import { labCertificatePaths } from '../../lab/tls.ts';
import { auditEndpoints } from '../../src/audit/audit.ts';
import { parseTarget, projectEndpoints } from '../../src/audit/endpoints.ts';
import type { AuditReport, Finding } from '../../src/audit/types.ts';
import { auditSchema } from '../../src/config/audit.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { ensureLab } from '../helpers/lab.ts';
import { labProject, replaceSection } from '../helpers/project.ts';

const A = STORES.a;
const strict: StoreDef = {
  ...STORES.a,
  name: 'dovecot-audit-strict',
  key: 'audit-strict',
  imapPort: 1451,
  imapsPort: 9961,
  lmtpPort: 2421,
  pop3Port: 1102,
  pop3sPort: 9952,
  plaintextAuth: false,
};
const opts = { ...auditSchema.parse({}), logger: silentLogger };
let labDir: string;
let strictPaths: StorePaths | undefined;

function pick(report: AuditReport, endpoint: string, check: Finding['check']): Finding {
  const f = report.findings.find((x) => x.endpoint === endpoint && x.check === check);
  assert.ok(f, `no ${check} finding for ${endpoint}: ${JSON.stringify(report.findings.filter((x) => x.endpoint === endpoint))}`);
  return f;
}

/** CAPA on a plain connection from 127.0.0.1 itself (the server's own address). */
async function capaFromOwnAddress(port: number): Promise<string[]> {
  const s = connect({ host: '127.0.0.1', port });
  let text = '';
  s.setEncoding('utf8').on('data', (d: string) => {
    text += d;
  });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    const poll = setInterval(() => {
      if (!text.includes('\r\n')) return;
      if (!text.includes('CAPA')) s.write('CAPA\r\n');
      if (/\r\n\.\r\n/.test(text)) {
        clearInterval(poll);
        s.end('QUIT\r\n');
        resolve();
      }
    }, 20);
  });
  return text.split('\r\n');
}

describe('audit: POP3 (live)', { timeout: 120_000 }, () => {
  before(async () => {
    const lab = await ensureLab();
    labDir = lab.labDir;
    assert.equal(lab.mailStores.find((s) => s.name === A.name)?.endpoints.pop3, `127.0.0.1:${A.pop3Port}`, 'lab.json records POP3');
    const { paths } = await writeDovecotConfig(labDir, strict, authDirectoryOfForest(FORESTS.a), labCertificatePaths(labDir), {
      masterPassword: readSecret(labDir, 'mail-a-master.pw'),
      searchPassword: readSecret(labDir, 'forest-a-galsync.pw'),
    });
    strictPaths = paths;
    await startDovecot(strict, paths, silentLogger);
  });
  after(async () => {
    if (strictPaths) await stopDovecot(strict, strictPaths, silentLogger);
  });

  it('flags USER and SASL PLAIN offered before STLS on the lab POP3 port 1101', async () => {
    const report = await auditEndpoints([parseTarget(`pop3://127.0.0.1:${A.pop3Port}`, undefined)], undefined, opts);
    const ep = `pop3 127.0.0.1:${A.pop3Port}`;
    const f = pick(report, ep, 'cleartext-auth');
    assert.equal(f.status, 'fail');
    assert.match(f.detail, /^offers USER PLAIN LOGIN before TLS$/);
    assert.match(f.fix, /disable_plaintext_auth = yes/);
    assert.match(pick(report, ep, 'tls-offered').detail, /^STARTTLS, TLSv1\.3$/);
    assert.equal(pick(report, ep, 'tls-versions').detail, 'accepts TLSv1.2, TLSv1.3');
    assert.equal(pick(report, ep, 'certificate-trust').status, 'warn');
    assert.equal(report.failed, true);
  });

  it('pop3s 9951: TLS from the first byte, the lab certificate untrusted without the lab CA and trusted with it', async () => {
    const ep = `pop3 127.0.0.1:${A.pop3sPort}`;
    const report = await auditEndpoints([parseTarget(`pop3://127.0.0.1:${A.pop3sPort}`, undefined)], undefined, opts);
    assert.match(pick(report, ep, 'tls-offered').detail, /^implicit TLS, TLSv1\.3$/);
    assert.equal(pick(report, ep, 'cleartext-auth').detail, 'TLS from the first byte');
    const trust = pick(report, ep, 'certificate-trust');
    assert.equal(trust.status, 'warn');
    assert.match(trust.detail, /^untrusted: /);
    assert.equal(pick(report, ep, 'certificate-name').status, 'pass');
    assert.equal(pick(report, ep, 'certificate-expiry').status, 'pass');
    assert.equal(report.failed, false, JSON.stringify(report.findings.filter((x) => x.status === 'fail')));
    const ca = readFileSync(join(labDir, 'tls', 'ca.crt'));
    const withCa = await auditEndpoints([parseTarget(`pop3://127.0.0.1:${A.pop3sPort}`, ca)], undefined, opts);
    assert.equal(pick(withCa, ep, 'certificate-trust').status, 'pass');
  });

  it('passes POP3 and IMAP that refuse plaintext auth before TLS (disable_plaintext_auth = yes)', async () => {
    const report = await auditEndpoints(
      [parseTarget(`pop3://127.0.0.1:${strict.pop3Port}`, undefined), parseTarget(`imap://127.0.0.1:${strict.imapPort}`, undefined)],
      undefined,
      opts,
    );
    const pop = pick(report, `pop3 127.0.0.1:${strict.pop3Port}`, 'cleartext-auth');
    assert.equal(pop.status, 'pass', pop.detail);
    assert.equal(pop.detail, 'no authentication offered before TLS');
    assert.match(pick(report, `pop3 127.0.0.1:${strict.pop3Port}`, 'tls-offered').detail, /^STARTTLS/);
    assert.equal(pick(report, `imap 127.0.0.1:${strict.imapPort}`, 'cleartext-auth').detail, 'LOGINDISABLED before TLS');
    assert.equal(report.failed, false, JSON.stringify(report.findings.filter((x) => x.status === 'fail')));
    // Why the audit connects from another loopback address: from the server's own address
    // Dovecot counts the client as secured and offers USER anyway. The audit must not be fooled.
    assert.ok((await capaFromOwnAddress(strict.pop3Port!)).includes('USER'), 'Dovecot trusts a client on its own address');
  });

  it('audits the POP3 endpoints listed in the project file (audit.endpoints), with audit.caFile', () => {
    const project = labProject(labDir, (t) =>
      replaceSection(
        t,
        'audit',
        `audit:\n  caFile: ${labDir}/tls/ca.crt\n  endpoints:\n` +
          `    - { organization: a, protocol: pop3, host: 127.0.0.1, port: ${A.pop3Port}, tls: starttls }\n` +
          `    - { organization: a, protocol: pop3, host: 127.0.0.1, port: ${A.pop3sPort}, tls: implicit }\n`,
      ),
    );
    const listed = projectEndpoints(project).filter((e) => e.protocol === 'pop3');
    assert.deepEqual(
      listed.map((e) => [e.source, e.port, e.tls]),
      [
        ['audit.endpoints[0]', A.pop3Port, 'starttls'],
        ['audit.endpoints[1]', A.pop3sPort, 'implicit'],
      ],
    );
    // The whole `crossforest audit`, as an operator runs it: the POP3 endpoints are in the report.
    const path = join(project.dir, 'crossforest.yaml');
    writeFileSync(path, project.text);
    const run = spawnSync(join(process.cwd(), 'bin', 'crossforest.js'), ['-c', path, '--json', 'audit'], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    assert.equal(run.status, 1, run.stderr);
    const report = JSON.parse(run.stdout) as AuditReport;
    const plain = pick(report, `pop3 127.0.0.1:${A.pop3Port}`, 'cleartext-auth');
    assert.equal(plain.status, 'fail');
    assert.equal(plain.organization, 'a');
    assert.equal(pick(report, `pop3 127.0.0.1:${A.pop3sPort}`, 'certificate-trust').status, 'pass', 'trusted through audit.caFile');
  });
});
