// `audit` lists crossforest's own relay listeners and probes them like any SMTP endpoint
// (issue 17): a loopback listener without a clients section relays for local processes (a
// warning naming the fix); one with accounts offers no AUTH before STARTTLS and refuses an
// unauthenticated outside sender (530); a listener that is not running is information, not a
// failure. Live: real listeners started from the project file's transport section.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { auditEndpoints } from '../../src/audit/audit.ts';
import { projectEndpoints } from '../../src/audit/endpoints.ts';
import type { Finding } from '../../src/audit/types.ts';
import { auditSchema } from '../../src/config/audit.ts';
import { policyTable } from '../../src/transport/policy.ts';
import { type RelayListenerHandle, startRelayListener } from '../../src/transport/relayListener.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { ensureLab } from '../helpers/lab.ts';
import { labProject, replaceSection, type TestProject } from '../helpers/project.ts';

const opts = { ...auditSchema.parse({}), logger: silentLogger };
const PORTS = { open: 10_291, closed: 10_292, stopped: 10_293 };
let project: TestProject;
const handles: RelayListenerHandle[] = [];

describe("audit of crossforest's relay listeners (live)", { timeout: 60_000 }, () => {
  before(async () => {
    process.env.CF_TEST_RELAY_PW = 'not-the-audit-s-business';
    const lab = await ensureLab();
    const tls = `{ certFile: ${join(lab.labDir, 'tls', 'server.crt')}, keyFile: ${join(lab.labDir, 'tls', 'server.key')} }`;
    project = labProject(lab.labDir, (t) =>
      replaceSection(
        t,
        'transport',
        [
          'transport:',
          '  listeners:',
          `    - { name: local, direction: outbound, listen: { port: ${PORTS.open} }, nextHop: { host: 127.0.0.1, port: 9 } }`,
          `    - name: guarded`,
          '      direction: outbound',
          `      listen: { port: ${PORTS.closed} }`,
          '      nextHop: { host: 127.0.0.1, port: 9 }',
          `      tls: ${tls}`,
          '      clients: { allow: [127.0.0.2], accounts: [{ name: mta, password: { env: CF_TEST_RELAY_PW } }] }',
          `    - { name: stopped, direction: inbound, listen: { port: ${PORTS.stopped} }, nextHop: { host: 127.0.0.1, port: 9 } }`,
          '',
        ].join('\n'),
      ),
    );
    const transport = project.config.transport;
    assert.ok(transport);
    const table = policyTable(transport, ['forest-a.test']);
    for (const l of transport.listeners.filter((x) => x.name !== 'stopped'))
      handles.push(
        await startRelayListener({
          listener: l,
          limits: transport.limits,
          table,
          hostname: 'relay.test',
          baseDir: project.baseDir,
          logger: silentLogger,
        }),
      );
  });
  after(async () => {
    for (const h of handles) await h.close();
  });

  it('lists every listener and reports each as it is', async () => {
    const eps = projectEndpoints(project).filter((e) => e.relayListener);
    assert.deepEqual(
      eps.map((e) => [e.source, e.port, e.tls]),
      [
        ['transport.listeners.local', PORTS.open, 'none'],
        ['transport.listeners.guarded', PORTS.closed, 'starttls'],
        ['transport.listeners.stopped', PORTS.stopped, 'none'],
      ],
    );
    const report = await auditEndpoints(eps, undefined, opts);
    const pick = (port: number, check: Finding['check']): Finding => {
      const f = report.findings.find((x) => x.endpoint === `smtp 127.0.0.1:${port}` && x.check === check);
      assert.ok(f, `no ${check} for ${port}: ${JSON.stringify(report.findings)}`);
      return f;
    };
    const open = pick(PORTS.open, 'open-relay');
    assert.equal(open.status, 'warn');
    assert.match(open.detail, /relay listener local relays for any process of this host/);
    assert.match(open.fix, /transport\.listeners\.local a clients section/);
    assert.equal(pick(PORTS.closed, 'open-relay').status, 'pass');
    assert.match(pick(PORTS.closed, 'open-relay').detail, /530/);
    assert.equal(pick(PORTS.closed, 'cleartext-auth').status, 'pass');
    assert.match(pick(PORTS.closed, 'tls-offered').detail, /^STARTTLS/);
    const stopped = pick(PORTS.stopped, 'reachable');
    assert.equal(stopped.status, 'info');
    assert.match(stopped.detail, /relay listener stopped does not answer/);
  });
});
