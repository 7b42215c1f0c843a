// Pure AD codecs, with hostile inputs: objectGUID, objectSid, userAccountControl, refusal text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adRefusal } from '../../src/directory/ad/adError.ts';
import { guidToBytes, guidToString } from '../../src/directory/ad/guid.ts';
import { sidRid, sidToBytes, sidToString } from '../../src/directory/ad/sid.ts';
import { decodeUac } from '../../src/directory/ad/uac.ts';

test('objectGUID: mixed-endian text form, round trip, hostile input', () => {
  const bytes = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  assert.equal(guidToString(bytes), '33221100-5544-7766-8899-aabbccddeeff');
  assert.deepEqual(guidToBytes('{33221100-5544-7766-8899-AABBCCDDEEFF}'), bytes);
  for (const bad of [
    '',
    'not-a-guid',
    '33221100-5544-7766-8899-aabbccddeef',
    '33221100554477668899aabbccddeeff',
    '3322110g-5544-7766-8899-aabbccddeeff',
  ]) {
    assert.throws(() => guidToBytes(bad), /not an objectGUID/);
  }
  assert.throws(() => guidToString(Buffer.alloc(15)), /15 bytes/);
});

test('objectSid: binary ⇄ S-1-5-21-…, RID, hostile input', () => {
  const sid = 'S-1-5-21-2856356380-853161845-2327859656-1104';
  assert.equal(sidToString(sidToBytes(sid)), sid);
  assert.equal(sidRid(sid), 1104);
  assert.equal(sidToString(sidToBytes('S-1-5-32-544')), 'S-1-5-32-544');
  for (const bad of [
    Buffer.alloc(0),
    Buffer.from([2, 1, 0, 0, 0, 0, 0, 5, 1, 0, 0, 0]),
    Buffer.from([1, 2, 0, 0, 0, 0, 0, 5, 1, 0, 0, 0]),
  ]) {
    assert.throws(() => sidToString(bad), /not a security identifier/);
  }
  for (const bad of ['', 'S-1', 'S-1-5-21-99999999999', 'X-1-5-21', 'S-1-5-21-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16']) {
    assert.throws(() => sidToBytes(bad), /not a security identifier/);
  }
});

test('userAccountControl: flags, disabled, unknown bits, hostile text', () => {
  const u = decodeUac('514');
  assert.ok(u?.disabled && u.normalAccount);
  assert.deepEqual(u?.flags, ['ACCOUNTDISABLE', 'NORMAL_ACCOUNT']);
  assert.equal(decodeUac('66048')?.flags.includes('DONT_EXPIRE_PASSWORD'), true);
  assert.equal(decodeUac(0x200 | 0x40000000)?.unknownBits, 0x40000000);
  assert.equal(decodeUac('-2147483136')?.value, 0x80000200);
  for (const bad of ['', 'abc', '1e3', '99999999999', ' 5 12']) assert.equal(decodeUac(bad), undefined);
});

test('AD refusal text: code and words, from Windows and Samba, and garbage', () => {
  const samba = Object.assign(new Error("00002071: samldb: samAccountName 'jdoe' already in use!"), { code: 68 });
  assert.deepEqual(adRefusal(samba), { ldapCode: 68, adCode: '0x2071', words: "samldb: samAccountName 'jdoe' already in use!" });
  const win = Object.assign(new Error('0000202F: UpdErr: DSID-03151A2F, problem 6005 (ENTRY_EXISTS), data 0'), { code: 19 });
  assert.equal(adRefusal(win).adCode, '0x202F');
  assert.deepEqual(adRefusal(new Error('plain words')), { ldapCode: undefined, adCode: undefined, words: 'plain words' });
  assert.equal(adRefusal('x'.repeat(5)).words, 'xxxxx');
  // ldapts appends the result code to the diagnostic; it is not part of the DC's words.
  const tail = Object.assign(
    new Error("0000200B: objectclass_attrs: attribute 'mailNickname' on entry 'CN=x' contains at least one invalid value! Code: 0x15"),
    { code: 21 },
  );
  assert.deepEqual(adRefusal(tail), {
    ldapCode: 21,
    adCode: '0x200B',
    words: "objectclass_attrs: attribute 'mailNickname' on entry 'CN=x' contains at least one invalid value!",
  });
  assert.equal(adRefusal(new Error('Code: 0x15')).words, '', 'nothing but a code: no words, no crash');
});
