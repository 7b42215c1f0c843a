// The pieces of raw IMAP we read and write ourselves (acl.ts, rawCommand.ts): mailbox names
// in modified UTF-7, the response tokenizer and the ACL response. Pure, no server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAclResponse } from '../../src/mail/acl.ts';
import { tokenize } from '../../src/mail/imapTokens.ts';
import { decodeMailboxName, encodeMailboxName, namesAreUtf8 } from '../../src/mail/mailboxName.ts';
import { quoteMailbox, quoteString } from '../../src/mail/wire.ts';

describe('mailbox names on the wire', () => {
  it('encodes modified UTF-7 (RFC 3501 §5.1.3) and decodes it back', () => {
    assert.equal(encodeMailboxName('Entwürfe', false), 'Entw&APw-rfe');
    assert.equal(encodeMailboxName('日本語', false), '&ZeVnLIqe-');
    assert.equal(encodeMailboxName('Tom & Jerry', false), 'Tom &- Jerry');
    assert.equal(encodeMailboxName('Sent Items', false), 'Sent Items');
    for (const name of ['Entwürfe', '日本語.取引先', 'Tom & Jerry', 'Ünïcødé/ß', 'plain'])
      assert.equal(decodeMailboxName(encodeMailboxName(name, false), false), name);
  });

  it('sends names as they are once the session speaks UTF-8', () => {
    assert.equal(encodeMailboxName('Entwürfe', true), 'Entwürfe');
    assert.equal(namesAreUtf8(new Set(['UTF8=ACCEPT']), new Set(['IMAP4rev1'])), true);
    assert.equal(namesAreUtf8(new Set(), new Set(['IMAP4REV1', 'IMAP4REV2'])), false);
    assert.equal(namesAreUtf8(new Set(), new Set(['IMAP4REV2'])), true);
  });

  it('keeps a name with 8-bit characters as sent (a server sending UTF-8 anyway)', () => {
    assert.equal(decodeMailboxName('Entwürfe & Co', false), 'Entwürfe & Co');
  });

  it('quotes DQUOTE and backslash and refuses CR, LF and NUL', () => {
    assert.equal(quoteMailbox({ utf8: false }, 'a "b"\\c'), '"a \\"b\\"\\\\c"');
    assert.equal(quoteString('bob@forest-b.test'), '"bob@forest-b.test"');
    assert.throws(() => quoteMailbox({ utf8: false }, 'evil\r\nA1 DELETE INBOX'), { code: 'CF_ERR_IMAP_NAME' });
    assert.throws(() => quoteString('x\0y'), { code: 'CF_ERR_IMAP_NAME' });
  });
});

describe('IMAP response tokens', () => {
  it('reads atoms, quoted strings, lists and literals', () => {
    const t = tokenize({ text: ['* LIST (\\HasNoChildren) "." {5}', ' NIL "a \\"q\\""'], literals: [Buffer.from('INBOX')] });
    assert.deepEqual(t, ['*', 'LIST', ['\\HasNoChildren'], '.', 'INBOX', 'NIL', 'a "q"']);
    assert.deepEqual(tokenize({ text: ['* STATUS "shared.x" (MESSAGES 63 UIDNEXT 70)'], literals: [] }), [
      '*',
      'STATUS',
      'shared.x',
      ['MESSAGES', '63', 'UIDNEXT', '70'],
    ]);
  });

  it('refuses malformed responses instead of guessing', () => {
    for (const text of [['* ACL "INBOX'], ['* X (a b'], ['* X a)']])
      assert.throws(() => tokenize({ text, literals: [] }), { code: 'CF_ERR_IMAP_PROTOCOL' });
    assert.throws(() => tokenize({ text: ['* ACL {9}', ''], literals: [Buffer.from('short')] }), { code: 'CF_ERR_IMAP_PROTOCOL' });
  });

  it('parses an ACL response into entries, the mailbox back to Unicode', () => {
    const tokens = tokenize({ text: ['* ACL "Entw&APw-rfe" owner@b.test lrswipkxtecda "anne@b.test" lr'], literals: [] }).slice(2);
    assert.deepEqual(parseAclResponse(tokens, false), {
      mailbox: 'Entwürfe',
      entries: [
        { identifier: 'owner@b.test', rights: 'lrswipkxtecda' },
        { identifier: 'anne@b.test', rights: 'lr' },
      ],
    });
    assert.throws(() => parseAclResponse(['INBOX', 'anne@b.test'], false), { code: 'CF_ERR_IMAP_PROTOCOL' });
    assert.throws(() => parseAclResponse(['INBOX', ['x'], 'lr'], false), { code: 'CF_ERR_IMAP_PROTOCOL' });
  });
});
