// The batched state-store writes of the hot loop (one query for a batch's objects,
// multi-row INSERTs): the corner cases a per-object loop handled by itself — an anchor
// twice in one batch, an exported add adopted by DN, its confirmation — on the test
// state engine (CROSSFOREST_TEST_STATE), without a directory.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { exampleProjectFile } from '../../src/config/example.ts';
import { loadProject } from '../../src/config/load.ts';
import type { DirectoryEntry } from '../../src/directory/entry.ts';
import { openProjectState, type StateStore } from '../../src/state/store.ts';
import * as cs from '../../src/sync/connectorSpace.ts';
import { createEngine, type SyncEngine } from '../../src/sync/engine.ts';
import { storeBatch } from '../../src/sync/importRun.ts';
import { newRunContext } from '../../src/sync/runContext.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { testStateConfig } from '../helpers/state.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

let engine: SyncEngine;
let store: StateStore;

function user(uuid: string, cn: string, mail: string): DirectoryEntry {
  return {
    dn: `cn=${cn},ou=Sites,dc=forest-a,dc=test`,
    attributes: { objectClass: ['top', 'person', 'organizationalPerson', 'user'], cn: [cn], mail: [mail], entryUUID: [uuid] },
  };
}

describe('batched import writes', () => {
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cf-sync-batch-'));
    const doc = parse(exampleProjectFile().replaceAll('examples/rules', join(ROOT, 'examples/rules'))) as { state?: unknown };
    doc.state = testStateConfig(dir);
    writeFileSync(join(dir, 'crossforest.yaml'), stringify(doc));
    const project = loadProject(join(dir, 'crossforest.yaml'));
    engine = await createEngine(project);
    store = await openProjectState(project);
  });
  after(async () => {
    await store?.close();
  });

  it('an anchor twice in one batch: one object, the second entry wins', async () => {
    const run = newRunContext(silentLogger);
    const first = user('00000000-0000-4000-8000-000000000001', 'Twice', 'twice@forest-a.test');
    const second = user('00000000-0000-4000-8000-000000000001', 'Twice', 'twice.again@forest-a.test');
    await storeBatch(
      engine,
      store,
      'a',
      [first, user('00000000-0000-4000-8000-000000000002', 'Other', 'other@forest-a.test'), second],
      1,
      run,
    );
    assert.equal(run.counts.imported, 3);
    assert.equal(run.counts.importAdds, 2);
    assert.equal(run.counts.importUpdates, 1);
    const o = await cs.csByAnchor(store, 'a', '00000000-0000-4000-8000-000000000001');
    assert.deepEqual(o?.attributes.mail, ['twice.again@forest-a.test']);
    const owners = await cs.addressOwnersMany(store, 'a', ['smtp:twice@forest-a.test', 'smtp:twice.again@forest-a.test'], null, -1);
    assert.deepEqual(
      owners.map((x) => x.address),
      ['smtp:twice.again@forest-a.test'],
    );
    // Read again unchanged: not flagged, not counted as an update.
    const again = newRunContext(silentLogger);
    await storeBatch(engine, store, 'a', [second], 2, again);
    assert.equal(again.counts.importUpdates, 0);
  });

  it('an exported add is adopted by DN and confirmed, in one batch with a new entry', async () => {
    const dn = 'cn=Contact X,ou=GAL Contacts,dc=forest-a,dc=test';
    const exported = { objectClass: ['top', 'contact'], cn: ['Contact X'], mail: ['x@forest-b.test'] };
    const id = await cs.insertCs(store, {
      agent: 'a',
      anchor: 'pending:test-1',
      dn,
      objectClass: 'contact',
      attributes: {},
      hash: '',
      provisioned: true,
      runId: null,
      syncPending: false,
      pendingOp: 'add',
      pendingAttributes: exported,
    });
    const run = newRunContext(silentLogger);
    const read: DirectoryEntry = {
      dn,
      attributes: {
        objectClass: ['top', 'contact'],
        cn: ['Contact X'],
        mail: ['x@forest-b.test'],
        entryUUID: ['00000000-0000-4000-8000-0000000000aa'],
      },
    };
    await storeBatch(engine, store, 'a', [read, user('00000000-0000-4000-8000-000000000003', 'New', 'new@forest-a.test')], 3, run);
    const o = await cs.csById(store, id);
    assert.equal(o?.anchor, '00000000-0000-4000-8000-0000000000aa');
    assert.equal(o?.pendingOp, null);
    assert.equal(o?.exported, null, 'confirmed: what was exported was read back');
    assert.equal(run.counts.importAdds, 1);
    assert.equal(run.counts.importUpdates, 1);
    assert.equal(run.errors.length, 0);
  });
});
