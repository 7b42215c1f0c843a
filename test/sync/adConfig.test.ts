// Pure pieces of the Active Directory agents: the stored watermark (hostile text is a
// full import, never a skipped change), the anchor check, and examples/samba.yaml
// (the `init --directory samba` example the Samba tests use) kept in step with its generator.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { exampleProjectFile } from '../../src/config/example.ts';
import { loadProject } from '../../src/config/load.ts';
import { formatAdWatermark, parseAdWatermark } from '../../src/sync/adWatermark.ts';
import { createEngine } from '../../src/sync/engine.ts';
import { ConfigError } from '../../src/util/errors.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function sambaProject(edit: (doc: { sync: { agents: Record<string, Record<string, unknown>> } }) => void = () => {}) {
  const doc = parse(exampleProjectFile('samba').replaceAll('examples/rules', join(ROOT, 'examples/rules')));
  edit(doc);
  const dir = mkdtempSync(join(tmpdir(), 'cf-adconf-'));
  writeFileSync(join(dir, 'crossforest.yaml'), stringify(doc));
  return loadProject(join(dir, 'crossforest.yaml'));
}

describe('AD watermark in the state store', () => {
  it('round-trips a DirSync cookie and a USN watermark', () => {
    const d = { kind: 'dirsync' as const, cookie: Buffer.from('TVNEUwMAAAA').toString('base64') };
    assert.deepEqual(parseAdWatermark(formatAdWatermark(d)), d);
    const u = { kind: 'usn' as const, highestUsn: '12345', invocationId: '0f3c2a10-6b1d-4e2f-9a8b-1c2d3e4f5a6b' };
    assert.deepEqual(parseAdWatermark(formatAdWatermark(u)), u);
  });

  it('hostile or damaged text is no watermark (the next import is a full one)', () => {
    const bad = [
      undefined,
      '',
      'null',
      '[]',
      '42',
      '{',
      '{"kind":"dirsync"}',
      '{"kind":"dirsync","cookie":""}',
      '{"kind":"dirsync","cookie":"not base64!"}',
      '{"kind":"dirsync","cookie":["QUJD"]}',
      '{"kind":"usn","highestUsn":"-1","invocationId":"0f3c2a10-6b1d-4e2f-9a8b-1c2d3e4f5a6b"}',
      '{"kind":"usn","highestUsn":"1e9","invocationId":"0f3c2a10-6b1d-4e2f-9a8b-1c2d3e4f5a6b"}',
      '{"kind":"usn","highestUsn":"123456789012345678901","invocationId":"0f3c2a10-6b1d-4e2f-9a8b-1c2d3e4f5a6b"}',
      '{"kind":"usn","highestUsn":"5","invocationId":"DC=evil"}',
      '{"kind":"usn","highestUsn":5,"invocationId":"0f3c2a10-6b1d-4e2f-9a8b-1c2d3e4f5a6b"}',
      '{"kind":"entryCSN","value":"20261128"}',
      '{"__proto__":{"kind":"dirsync"},"cookie":"QUJD"}',
      `{"kind":"dirsync","cookie":"${'A'.repeat(1_000_001)}"}`,
    ];
    for (const text of bad) assert.equal(parseAdWatermark(text), undefined, String(text).slice(0, 80));
  });
});

describe('AD agents in the project file', () => {
  it('the Samba example loads: AD organizations over verified ldaps, objectGUID anchors', async () => {
    const engine = await createEngine(sambaProject());
    const a = engine.project.config.organizations.a?.directory;
    assert.equal(a?.kind, 'activedirectory');
    assert.match(a?.url ?? '', /^ldaps:\/\/127\.0\.0\.2:636$/);
    assert.ok(a?.caFile);
    assert.equal(engine.cfg.agents.a?.anchor, 'objectGUID');
    assert.equal(engine.cfg.agents.b?.provisioning?.container, 'OU=GAL Contacts,DC=forestb,DC=test');
  });

  it('an AD agent anchored on anything but objectGUID is refused with its key path', async () => {
    await assert.rejects(
      createEngine(sambaProject((doc) => Object.assign(doc.sync.agents.a ?? {}, { anchor: 'mail' }))),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /sync\.agents\.a\.anchor: mail on an Active Directory organization; anchor on objectGUID/);
        return true;
      },
    );
  });

  it('examples/samba.yaml is what `crossforest init --directory samba` writes', () => {
    assert.equal(readFileSync(join(ROOT, 'examples/samba.yaml'), 'utf8'), exampleProjectFile('samba'));
  });
});
