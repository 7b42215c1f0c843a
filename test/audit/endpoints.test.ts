// Unit: which endpoints the audit takes from the project file and the command line, and
// which hosts it may touch.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isOwned, parseTarget, projectEndpoints } from '../../src/audit/endpoints.ts';
import { exampleProjectFile } from '../../src/config/example.ts';
import { loadProject } from '../../src/config/load.ts';
import { CrossforestError } from '../../src/util/errors.ts';
import { isLoopbackHost as isLoopback } from '../../src/util/loopback.ts';
import { replaceSection } from '../helpers/project.ts';

describe('audit endpoints', () => {
  it('parses host:port and protocol://host:port, guessing the protocol from well-known ports', () => {
    assert.deepEqual(
      ['127.0.0.1:993', 'localhost:587', 'smtp://127.0.0.1:2525', 'POP3://[::1]:1995'].map((t) => {
        const e = parseTarget(t, undefined);
        return [e.protocol, e.host, e.port, e.tls, e.openRelayTest];
      }),
      [
        ['imap', '127.0.0.1', 993, 'unknown', false],
        ['submission', 'localhost', 587, 'unknown', true],
        ['smtp', '127.0.0.1', 2525, 'unknown', true],
        ['pop3', '::1', 1995, 'unknown', false],
      ],
    );
  });

  it('refuses what is not a target, with the fix', () => {
    for (const bad of ['', 'host', '127.0.0.1:0', '127.0.0.1:70000', 'ftp://h:21', 'h:1431', 'a b:25', '127.0.0.1:25\r\nRCPT']) {
      assert.throws(
        () => parseTarget(bad, undefined),
        (err: unknown) => err instanceof CrossforestError && Boolean(err.hint),
        bad,
      );
    }
  });

  it('only loopback (by address or the name localhost) and listed hosts are owned', () => {
    assert.ok(isLoopback('127.0.0.1') && isLoopback('127.9.9.9') && isLoopback('::1') && isLoopback('LOCALHOST'));
    for (const h of ['10.0.0.1', '127.0.0.1.evil.test', 'localhost.evil.test', '0.0.0.0', '::ffff:8.8.8.8'])
      assert.equal(isLoopback(h), false, h);
    assert.ok(isOwned('mx.forest-a.test', ['MX.forest-a.test']));
    assert.equal(isOwned('mx.other.test', ['mx.forest-a.test']), false);
  });

  it('takes IMAP and LDAP from each organization, the coexistence service, and audit.endpoints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cf-audit-ep-'));
    writeFileSync(join(dir, 'ca.crt'), 'not really a CA');
    const text = `${replaceSection(exampleProjectFile(), 'audit')
      .replaceAll('.lab/tls/ca.crt', 'ca.crt')
      .replace(
        /^\s*caldav:.*$/gm,
        '',
      )}\naudit:\n  caFile: ca.crt\n  endpoints:\n    - { organization: a, protocol: smtp, host: 127.0.0.1, port: 2525, tls: starttls }\n    - { protocol: pop3, host: 127.0.0.1, port: 995, tls: implicit, openRelayTest: false }\n`;
    writeFileSync(join(dir, 'crossforest.yaml'), text);
    const eps = projectEndpoints(loadProject(join(dir, 'crossforest.yaml')));
    assert.deepEqual(
      eps.map((e) => `${e.organization ?? '-'} ${e.protocol} ${e.host}:${e.port} ${e.tls} ${e.openRelayTest ? 'relay-test' : ''}`.trim()),
      [
        'a imap 127.0.0.1:1431 starttls',
        'a ldap 127.0.0.1:3891 none',
        'b imap 127.0.0.1:9932 implicit',
        'b ldap 127.0.0.1:6362 implicit',
        '- http 127.0.0.1:8443 implicit',
        // The relay's own listeners (transport.listeners): probed like any SMTP endpoint.
        '- smtp 127.0.0.1:10025 none relay-test',
        '- smtp 127.0.0.1:10125 none relay-test',
        '- smtp 127.0.0.1:10026 none relay-test',
        '- smtp 127.0.0.1:10126 none relay-test',
        'a smtp 127.0.0.1:2525 starttls relay-test',
        '- pop3 127.0.0.1:995 implicit',
      ],
    );
    assert.ok(eps.every((e) => e.ca !== undefined));
    assert.deepEqual(
      eps.filter((e) => e.relayListener).map((e) => [e.source, e.relayListener?.localOnly]),
      [
        ['transport.listeners.a-outbound', true],
        ['transport.listeners.a-inbound', true],
        ['transport.listeners.b-outbound', true],
        ['transport.listeners.b-inbound', true],
      ],
    );
  });
});
