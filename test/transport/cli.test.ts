// The relay's command line: `relay classify` on a message file, a typo in the
// transport section, and a port already taken. Runs bin/crossforest.js as a user would.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exampleProjectFile } from '../../src/config/example.ts';
import { replaceSection } from '../helpers/project.ts';

const CLI = join(process.cwd(), 'bin', 'crossforest.js');

function project(transport: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cf-relay-cli-'));
  writeFileSync(join(dir, 'crossforest.yaml'), replaceSection(exampleProjectFile(), 'transport', transport));
  return dir;
}

function cli(dir: string, ...args: string[]) {
  return spawnSync(process.execPath, [CLI, '-c', join(dir, 'crossforest.yaml'), ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('crossforest relay (command line)', { timeout: 120_000 }, () => {
  it('classify: an Exchange OOF to the Internet is blocked, to the other organization it passes', () => {
    const dir = project('transport:\n  policy:\n    partner.test: { partner: true }\n');
    const eml = join(dir, 'oof.eml');
    writeFileSync(
      eml,
      'From: jmuller@forest-a.test\r\nSubject: Automatic reply: offer\r\nX-Auto-Response-Suppress: All\r\nIn-Reply-To: <x@y>\r\n\r\nAway.\r\n',
    );
    const r = cli(dir, '--json', 'relay', 'classify', eml, '--from', '', '--to', 'a@internet.test', 'b@forest-b.test', 'c@partner.test');
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout) as { classification: { kind: string }; allowed: string[]; blocked: { recipient: string }[] };
    assert.equal(d.classification.kind, 'outOfOffice');
    assert.deepEqual(d.allowed, ['b@forest-b.test', 'c@partner.test']);
    assert.deepEqual(
      d.blocked.map((b) => b.recipient),
      ['a@internet.test'],
    );
  });

  it('refuses a typo in the transport section with its key path and line', () => {
    const dir = project("transport:\n  policy:\n    '*': { outOfOfice: block }\n");
    const r = cli(dir, 'relay');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /transport\.policy/);
    assert.match(r.stderr, /outOfOfice/);
  });

  it('says which listener cannot listen when its port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dir = project(
        `transport:\n  listeners:\n    - { name: busy, direction: outbound, listen: { port: ${port} }, nextHop: { host: 127.0.0.1, port: 25 } }\n`,
      );
      const r = cli(dir, 'relay');
      assert.equal(r.status, 1);
      assert.match(r.stderr, /relay listener busy cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
      assert.match(r.stderr, /another process/);
    } finally {
      blocker.close();
    }
  });
});
