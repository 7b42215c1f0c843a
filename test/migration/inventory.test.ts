// Inventory against the lab: what it counts in forest A equals what the lab loaded
// (lab.json's directory counts, the corpus manifest's mailboxes, messages and bytes).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { inventoryOrganization } from '../../src/migration/inventory.ts';
import { ensureLab } from '../helpers/lab.ts';
import { labProject } from '../helpers/project.ts';

test('forest A inventory matches what the lab loaded', async () => {
  const lab = await ensureLab();
  const loaded = (lab.forests.a as unknown as { loaded: { counts: Record<string, number> } }).loaded.counts;
  const manifest = JSON.parse(readFileSync(join(lab.labDir, 'corpus-a.json'), 'utf8')) as {
    totals: { users: number; folders: number; messages: number; bytes: number };
  };
  const inv = await inventoryOrganization(labProject(lab.labDir), 'a');
  assert.ok((inv.objectsByClass.user ?? 0) >= loaded.users!, 'every sample user counted');
  assert.equal(inv.objectsByClass.group, loaded.groups);
  assert.equal(inv.totals.unreadable, 0);
  // Mailboxes, messages and bytes as the corpus generator wrote them (other tests' own users may add to them).
  const sample = inv.mailboxes.filter((m) => m.login.endsWith('@forest-a.test') && !m.login.startsWith('cf'));
  assert.equal(sample.length, manifest.totals.users);
  assert.equal(
    sample.reduce((n, m) => n + m.messages, 0),
    manifest.totals.messages,
  );
  assert.equal(
    sample.reduce((n, m) => n + m.bytes, 0),
    manifest.totals.bytes,
  );
  assert.equal(inv.mailEnabledUsers, loaded.mailEnabledUsers, 'users without mail are not counted as mail-enabled');
});

test('an organization whose directory refuses the bind fails with the directory named', async () => {
  const lab = await ensureLab();
  const project = labProject(lab.labDir, (t) =>
    t.replace('cn=galsync,ou=Service Accounts,dc=forest-a,dc=test', 'cn=nobody,dc=forest-a,dc=test'),
  );
  await assert.rejects(inventoryOrganization(project, 'a'), /invalid credentials for ldap:\/\/127\.0\.0\.1:3891/);
});
