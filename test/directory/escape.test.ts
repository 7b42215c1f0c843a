// Escaping, DN parsing, GUIDs and range keys: pure logic, with hostile inputs.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  escapeDnValue,
  escapeFilterValue,
  formatDn,
  isWithin,
  ldapFilter,
  normalizeDn,
  parentDn,
  parseDn,
} from '../../src/directory/escape.ts';
import { rangedAttribute } from '../../src/directory/rangeRetrieval.ts';

describe('RFC 4515 filter values', () => {
  it('escapes the five specials and nothing else', () => {
    assert.equal(escapeFilterValue('a*b(c)d\\e\0f'), 'a\\2ab\\28c\\29d\\5ce\\00f');
    assert.equal(escapeFilterValue('Renée O’Brien <x@y>'), 'Renée O’Brien <x@y>');
  });
  it('an injection attempt stays one assertion value', () => {
    const evil = '*)(|(objectClass=*)';
    const f = ldapFilter`(mail=${evil})`;
    assert.equal(f, '(mail=\\2a\\29\\28|\\28objectClass=\\2a\\29)');
    // Every "(" and ")" left in the filter is the template's own.
    assert.equal(f.replace(/\\[0-9a-f]{2}/g, '').replace(/[^()]/g, ''), '()');
  });
});

describe('RFC 4514 DN values', () => {
  it('escapes specials, leading # and space, trailing space, controls', () => {
    assert.equal(escapeDnValue('Smith, John'), 'Smith\\, John');
    assert.equal(escapeDnValue('#1 fan '), '\\#1 fan\\ ');
    assert.equal(escapeDnValue(' a+b=c;d<e>"f"'), '\\ a\\+b\\=c\\;d\\<e\\>\\"f\\"');
    assert.equal(escapeDnValue('back\\slash'), 'back\\5cslash');
    assert.equal(escapeDnValue('nul\0tab\t'), 'nul\\00tab\\09');
  });
  it('parses what it formats, for hostile random values', () => {
    const alphabet = [',', '+', '"', '\\', '<', '>', ';', '=', '#', ' ', '\0', '\n', 'é', '山', 'a', 'Z', '\u{1F600}'];
    for (let n = 0; n < 500; n++) {
      const bytes = randomBytes(12);
      const value = Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
      const dn = formatDn([
        { attribute: 'cn', value },
        { attribute: 'ou', value: 'GAL Contacts' },
        { attribute: 'dc', value: 'test' },
      ]);
      const back = parseDn(dn);
      assert.equal(back.length, 3, dn);
      assert.equal(back[0]?.value, value, dn);
      assert.equal(parentDn(dn), 'ou=GAL Contacts,dc=test');
    }
  });
  it('reads the spellings servers send (hex escapes, spaces after commas)', () => {
    assert.deepEqual(parseDn('CN=Ren\\C3\\A9e,  OU=Sites,DC=x'), [
      { attribute: 'CN', value: 'Renée' },
      { attribute: 'OU', value: 'Sites' },
      { attribute: 'DC', value: 'x' },
    ]);
    assert.equal(normalizeDn('CN=Ren\\C3\\A9e, OU=Sites,DC=X'), normalizeDn('cn=renée,ou=sites,dc=x'));
    assert.ok(isWithin('cn=a,ou=GAL Contacts,dc=x', 'OU=gal contacts, DC=X'));
    assert.ok(!isWithin('cn=a,ou=GAL Contacts2,dc=x', 'ou=GAL Contacts,dc=x'));
  });
  it('the fast normalization agrees with the full parse', () => {
    const full = (dn: string) => formatDn(parseDn(dn).map((r) => ({ attribute: r.attribute.toLowerCase(), value: r.value.toLowerCase() })));
    for (const dn of [
      'CN=José Müller ,OU=Sites, DC=X',
      'cn=a+sn=b,dc=x',
      'cn=#1 =x,dc=y',
      'cn=山田 太郎,ou=GAL Contacts,dc=forest-b,dc=test',
      ' cn = Spaces  ,  dc = x ',
    ]) {
      assert.equal(normalizeDn(dn), full(dn), dn);
    }
  });
  it('refuses what is not a DN', () => {
    assert.throws(() => parseDn('no equals sign'), SyntaxError);
    assert.throws(() => parseDn('cn=dangling\\'), SyntaxError);
    assert.throws(() => parseDn('c n=x'), SyntaxError);
  });
});

describe('AD range retrieval keys', () => {
  it('names the attribute of a slice', () => {
    assert.equal(rangedAttribute('member;range=0-1499'), 'member');
    assert.equal(rangedAttribute('member;range=1500-*'), 'member');
  });
  it('ignores other keys and nonsense', () => {
    for (const k of ['member', 'member;binary', 'member;range=a-b', ';range=0-1', 'member;range=0-'])
      assert.equal(rangedAttribute(k), undefined, k);
  });
});
