// Units of the Active Directory side of migration (issue 13): initial passwords (generated,
// sealed under the project's key file, bound to their mailbox) and the configured mailbox
// attributes (written once, a {guid} never replaced by a re-run).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { targetStoreSchema } from '../../src/config/migration.ts';
import { generatePassword, passwordKey, seal, unseal } from '../../src/migration/initialPassword.ts';
import { mailboxEnableChanges, storeMailboxAttributes } from '../../src/migration/mailboxAttributes.ts';
import type { MigrationSetup } from '../../src/migration/setup.ts';

const setupWithKey = (dir: string, file?: string): MigrationSetup =>
  ({ project: { baseDir: dir }, config: { targetUsers: { passwordKeyFile: file, enabled: true, passwordLength: 20 } } }) as never;

describe('initial passwords', () => {
  it('have every character class AD counts, and differ each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword(16);
      assert.equal(p.length, 16);
      for (const re of [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/]) assert.match(p, re);
      seen.add(p);
    }
    assert.equal(seen.size, 200);
  });

  it('the key file is made 0600 at first use, then read; a damaged one is refused naming the setting', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cf-key-'));
    const key = passwordKey(setupWithKey(dir, 'secrets/pw.key'));
    assert.equal(key.length, 32);
    assert.equal(statSync(join(dir, 'secrets/pw.key')).mode & 0o777, 0o600);
    assert.deepEqual(passwordKey(setupWithKey(dir, 'secrets/pw.key')), key);
    writeFileSync(join(dir, 'bad.key'), 'not hex\n');
    assert.throws(() => passwordKey(setupWithKey(dir, 'bad.key')), /64 hex digits.*|passwordKeyFile/);
    assert.throws(
      () => passwordKey(setupWithKey(dir)),
      (e: Error & { object?: string }) => e.object === 'migration.targetUsers.passwordKeyFile',
    );
  });

  it('a sealed password opens only with its key and for its mailbox; the clear text is nowhere in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cf-key-'));
    const key = passwordKey(setupWithKey(dir, 'k'));
    const sealed = seal(key, 7, 'Secret-Pa55!');
    assert.ok(!sealed.includes('Secret') && !Buffer.from(sealed, 'base64').includes('Secret-Pa55!'));
    assert.equal(unseal(key, 7, sealed), 'Secret-Pa55!');
    assert.throws(
      () => unseal(key, 8, sealed),
      (e: Error & { code?: string }) => e.code === 'CF_ERR_INITIAL_PASSWORD',
    );
    const other = passwordKey(setupWithKey(dir, 'other'));
    assert.throws(
      () => unseal(other, 7, sealed),
      (e: Error) => !e.message.includes('Secret-Pa55!'),
    );
    assert.notEqual(readFileSync(join(dir, 'k'), 'utf8'), readFileSync(join(dir, 'other'), 'utf8'));
  });
});

describe('mailbox attributes of a target store', () => {
  const ts = targetStoreSchema.parse({
    organization: 'b',
    homeMDB: 'CN=Store B,DC=x',
    mailboxAttributes: { msExchHomeServerName: '/o=B/cn=MAIL-B', msExchMailboxGuid: '{guid}', HOMEMDB: 'CN=Store B,DC=x' },
  });

  it('homeMDB is always one of them, spelled once', () => {
    assert.deepEqual(Object.keys(storeMailboxAttributes(ts)).sort(), ['homeMDB', 'msExchHomeServerName', 'msExchMailboxGuid']);
  });

  it('writes what differs; a {guid} only when absent, so a re-run keeps the mailbox identity', () => {
    const first = mailboxEnableChanges(ts, { dn: 'cn=u', attributes: {} });
    assert.deepEqual(first.map((c) => c.attribute).sort(), ['homeMDB', 'msExchHomeServerName', 'msExchMailboxGuid']);
    const guid = first.find((c) => c.attribute === 'msExchMailboxGuid')!.values[0]!;
    assert.match(guid, /^[0-9a-f]{8}-[0-9a-f]{4}-/);
    const done = { dn: 'cn=u', attributes: Object.fromEntries(first.map((c) => [c.attribute, c.values])) };
    assert.deepEqual(mailboxEnableChanges(ts, done), []);
    const moved = { dn: 'cn=u', attributes: { ...done.attributes, homeMDB: ['CN=Other,DC=x'] } };
    assert.deepEqual(mailboxEnableChanges(ts, moved), [{ attribute: 'homeMDB', values: ['CN=Store B,DC=x'] }]);
  });
});
