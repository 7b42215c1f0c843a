// The sync: section is validated before anything runs: unknown keys, broken references
// and missing rules extensions are refused with the key path and what to do.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { exampleProjectFile } from '../../src/config/example.ts';
import { loadProject } from '../../src/config/load.ts';
import { createEngine } from '../../src/sync/engine.ts';
import { resolveProfile, runProfile } from '../../src/sync/profiles.ts';
import { runErrors } from '../../src/sync/runHistory.ts';
import { ConfigError, type CrossforestError } from '../../src/util/errors.ts';
import { openTestStore } from '../helpers/state.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

type Doc = {
  sync: {
    agents: Record<string, Record<string, unknown> & { importFlows: Record<string, unknown>[]; joinRules: Record<string, unknown>[] }>;
  } & Record<string, unknown>;
};

/** The example project with absolute rule paths, changed by `edit`, loaded from a temp folder. */
function project(edit: (doc: Doc) => void = () => {}) {
  const doc = parse(exampleProjectFile().replaceAll('examples/rules', join(ROOT, 'examples/rules'))) as Doc;
  edit(doc);
  const dir = mkdtempSync(join(tmpdir(), 'cf-syncconf-'));
  writeFileSync(join(dir, 'crossforest.yaml'), stringify(doc));
  return loadProject(join(dir, 'crossforest.yaml'));
}

describe('sync configuration', () => {
  it('the example (the seed’s setup for the lab) loads, with its two rules extensions', async () => {
    const engine = await createEngine(project());
    assert.deepEqual(engine.agentIds, ['a', 'b']);
    assert.equal(engine.cfg.metaverse.objectType, 'Metaverse_Contact');
    assert.equal(engine.mvAttributes.get('proxyaddresses')?.multiValued, true);
    assert.equal(engine.registry.size, 2);
    assert.deepEqual(
      resolveProfile(engine, 'nightly').map((s) => s.run),
      ['full-import', 'full-sync', 'export', 'delta-import'],
    );
    assert.deepEqual(resolveProfile(engine, 'a:delta-import'), [{ run: 'delta-import', agent: 'a' }]);
    assert.throws(
      () => resolveProfile(engine, 'c:export'),
      (e: CrossforestError) => e.code === 'CF_ERR_SYNC_PROFILE' && /full-cycle/.test(e.hint ?? ''),
    );
  });

  it('an unknown key is refused with its path and line', () => {
    assert.throws(
      () =>
        project((d) => {
          (d.sync.agents.a as Record<string, unknown>).joinRule = [];
        }),
      (e: ConfigError) => /sync\.agents\.a/.test(e.message) && /joinRule/.test(e.message),
    );
  });

  it('broken references are all reported at once, by key path', async () => {
    const p = project((d) => {
      const a = d.sync.agents.a;
      if (!a) return;
      a.organization = 'c';
      a.importFlows.push({ to: 'favouriteColour', from: 'mail' });
      a.joinRules.push({ cs: 'employeeNumber', mv: 'mail' });
      (d.sync as Record<string, unknown>).precedence = { mail: ['z'] };
    });
    await assert.rejects(createEngine(p), (e: ConfigError) => {
      for (const part of [
        'sync.agents.a.organization',
        'favouriteColour is not a metaverse attribute',
        'sync.agents.a.joinRules.2.cs',
        'sync.precedence.mail: no agent "z"',
      ]) {
        assert.ok(e.message.includes(part), `${part} in ${e.message}`);
      }
      return e instanceof ConfigError;
    });
  });

  it('a missing rules extension, or a rule it does not have, is refused before any run', async () => {
    const missing = project((d) => {
      const f = d.sync.agents.a?.importFlows.find((x) => x.extension);
      if (f) f.extension = { path: 'no/such/rules.ts', rule: 'mail' };
    });
    await assert.rejects(
      createEngine(missing),
      (e: ConfigError) => /cannot load rules extension/.test(e.message) && /importFlows/.test(e.message),
    );
    const noRule = project((d) => {
      const f = d.sync.agents.b?.joinRules.find((x) => x.extension);
      if (f) f.extension = { path: join(ROOT, 'examples/rules/mail.ts'), rule: 'nickname' };
    });
    await assert.rejects(createEngine(noRule), (e: ConfigError) => /has no import rule "nickname" \(it has: mail\)/.test(e.message));
  });

  it('an unreachable directory fails the run with a clear message and leaves the state as it was', async () => {
    const p = project((d) => {
      const orgs = (d as unknown as { organizations: Record<string, { directory: { url: string; password: unknown } }> }).organizations;
      for (const o of Object.values(orgs)) {
        o.directory.url = 'ldap://127.0.0.1:1';
        o.directory.password = { env: 'CF_TEST_NOT_USED' };
      }
    });
    process.env.CF_TEST_NOT_USED = 'x';
    const engine = await createEngine(p);
    const store = await openTestStore(p.baseDir, 'state.sqlite');
    try {
      const run = await runProfile(engine, store, 'a:full-import');
      assert.equal(run.status, 'failed');
      assert.match(run.message ?? '', /127\.0\.0\.1:1 is unreachable \(ECONNREFUSED\)/);
      assert.deepEqual(await runErrors(store, run.id), []);
      assert.equal((await store.sql.get<{ n: number }>('SELECT count(*) AS n FROM sync_cs_object'))?.n, 0);
      // The lease is released: the next run may start.
      assert.equal(await store.leaseHolder('sync'), undefined);
    } finally {
      await store.close();
    }
  });
});
