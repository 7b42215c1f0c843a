// Pure-logic tests of the lab: sample generator determinism and coverage, LDIF
// encoding, the msuser.schema patch. No servers needed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { toLdif } from '../../lab/directory/ldif.ts';
import { DEBIAN_MSUSER_SCHEMA, patchMsuserSchema } from '../../lab/directory/msuserSchema.ts';
import { sshaHash } from '../../lab/directory/ssha.ts';
import { newCounts, sampleOrganization } from '../../lab/org/organization.ts';
import { samplePeople } from '../../lab/org/people.ts';

describe('samplePeople', () => {
  test('is deterministic for a seed and differs between seeds', () => {
    const a1 = [...samplePeople('a', 200, 's1')].map((p) => [p.dn, p.mail, p.objectGUID.toString('hex')]);
    const a2 = [...samplePeople('a', 200, 's1')].map((p) => [p.dn, p.mail, p.objectGUID.toString('hex')]);
    const b = [...samplePeople('a', 200, 's2')].map((p) => [p.dn, p.mail, p.objectGUID.toString('hex')]);
    assert.deepEqual(a1, a2);
    assert.notDeepEqual(a1, b);
  });

  test('sam, upn, mail, dn and objectGUID are unique even with duplicate names', () => {
    for (const forest of ['a', 'b'] as const) {
      const people = [...samplePeople(forest, 5000, 'crossforest')];
      for (const key of ['sam', 'upn', 'dn'] as const) {
        const values = people.map((p) => p[key].toLowerCase());
        assert.equal(new Set(values).size, values.length, `${forest} ${key}`);
      }
      const mails = people.flatMap((p) => (p.mail ? [p.mail.toLowerCase()] : []));
      assert.equal(new Set(mails).size, mails.length);
      assert.equal(new Set(people.map((p) => p.objectGUID.toString('hex'))).size, people.length);
      assert.ok(people.every((p) => p.objectGUID.length === 16));
      assert.ok(people.every((p) => /^[a-z0-9]+$/.test(p.sam) && p.sam.length <= 20));
    }
  });

  test('a small lab still has every case', () => {
    const a = [...samplePeople('a', 12, 'crossforest')];
    const b = [...samplePeople('b', 12, 'crossforest')];
    assert.ok(a.some((p) => p.displayName === 'José Müller'));
    assert.ok(a.some((p) => p.displayName === '山田 太郎'));
    assert.ok(a.filter((p) => p.displayName === 'John Smith').length >= 3);
    assert.ok(a.some((p) => p.mailKind === 'none' && p.mail === null && p.proxyAddresses.length === 0));
    assert.ok(a.some((p) => p.hidden));
    assert.ok(a.some((p) => p.textEncodedORAddress && p.otherMailbox.length > 0));
    assert.ok(a.filter((p) => p.hasMailbox).every((p) => p.homeMDB !== null));
    assert.ok(b.some((p) => p.mailKind === 'mail-enabled' && p.targetAddress && !p.homeMDB));
  });
});

describe('sampleOrganization', () => {
  test('emits parents before children and counts what it emits', () => {
    const counts = newCounts();
    const seen = new Set<string>();
    for (const e of sampleOrganization({ forest: 'a', size: 30, seed: 'x', usersPassword: 'u', galsyncPassword: 'g' }, counts)) {
      const parent = e.dn.replace(/^(?:[^,\\]|\\.)*,/, '');
      if (e.dn !== 'dc=forest-a,dc=test') assert.ok(seen.has(parent), `parent of ${e.dn} first`);
      seen.add(e.dn);
    }
    assert.equal(counts.entries, seen.size);
    assert.equal(counts.users, 30);
    assert.ok(counts.crossForestContacts >= 3);
  });
});

describe('LDIF', () => {
  test('base64-encodes non-ASCII, binary and unsafe values; keeps plain ones readable', () => {
    const text = toLdif({
      dn: 'cn=José Müller,dc=x',
      attrs: {
        cn: 'José Müller',
        sn: 'Smith',
        objectGUID: Buffer.from([0, 1, 2]),
        description: ' leading space',
        info: ':colon',
        mail: 'Atlanta/sales@forest-a.test',
        flag: true,
      },
    });
    assert.match(text, /^dn:: /);
    assert.match(text, /\ncn:: /);
    assert.match(text, /\nsn: Smith\n/);
    assert.match(text, /\nobjectGUID:: AAEC\n/);
    assert.match(text, /\ndescription:: /);
    assert.match(text, /\ninfo:: /);
    assert.match(text, /\nmail: Atlanta\/sales@forest-a.test\n/);
    assert.match(text, /\nflag: TRUE\n/);
    assert.ok(text.endsWith('\n\n'));
  });
});

describe('msuser.schema patch', () => {
  test('adds matching rules and relaxes the mstop MUSTs', () => {
    const patched = patchMsuserSchema(readFileSync(DEBIAN_MSUSER_SCHEMA, 'utf8'));
    assert.match(patched, /NAME 'proxyAddresses'\s+EQUALITY caseIgnoreMatch/);
    assert.match(patched, /NAME 'userPrincipalName'\s+EQUALITY caseIgnoreMatch/);
    assert.match(patched, /NAME 'objectGUID'\s+EQUALITY octetStringMatch/);
    assert.match(patched, /NAME 'mstop' SUP top ABSTRACT\s+MUST objectClass MAY \(instanceType \$ nTSecurityDescriptor \$ objectCategory/);
  });

  test('refuses a file of another shape', () => {
    assert.throws(() => patchMsuserSchema('nothing here'), /does not have the expected shape/);
  });
});

describe('sshaHash', () => {
  test('matches the slappasswd {SSHA} layout', () => {
    const salt = Buffer.from('12345678');
    const h = sshaHash('secret', salt);
    const raw = Buffer.from(h.slice(6), 'base64');
    assert.deepEqual(raw.subarray(20), salt);
    assert.deepEqual(raw.subarray(0, 20), createHash('sha1').update('secret').update(salt).digest());
  });
});
