// Pure pieces of the copy engine, with hostile inputs: fingerprints and header parsing,
// flag/keyword mapping against PERMANENTFLAGS, UID sets, ACL translation, IMAP lines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { translateAcl } from '../../src/mail/acl.ts';
import {
  FingerprintHasher,
  fingerprintOf,
  headerBlock,
  headerField,
  headerFingerprint,
  matchFingerprints,
  messageIdOf,
  subjectOf,
} from '../../src/mail/fingerprint.ts';
import { mapFlags } from '../../src/mail/flags.ts';
import { expandUidSet } from '../../src/mail/rawAppend.ts';
import { backoffMs, isTransient, withRetries } from '../../src/mail/retry.ts';
import { packUids } from '../../src/mail/uidSet.ts';
import { imapDateTime, parseTagged, quoteMailbox } from '../../src/mail/wire.ts';

const msg = (head: string, body = 'body\r\n'): Buffer => Buffer.from(`${head}\r\n\r\n${body}`);

describe('fingerprints', () => {
  it('streams to the same value as whole, whatever the chunking', () => {
    const m = msg('From: a@b\r\nMessage-ID: <x@y>\r\nSubject: s', 'x'.repeat(70_000));
    for (const size of [1, 7, 100, 65_536]) {
      const h = new FingerprintHasher();
      for (let i = 0; i < m.length; i += size) h.update(m.subarray(i, i + size));
      assert.equal(h.digest(), fingerprintOf(m));
    }
    // What the reconciliation computes from BODY[HEADER] + RFC822.SIZE matches the stream.
    assert.equal(headerFingerprint(headerBlock(m), m.length), fingerprintOf(m));
  });
  it('tells apart two messages sharing a Message-ID, and identical bytes match', () => {
    const a = msg('Message-ID: <same@x>\r\nSubject: one');
    const b = msg('Message-ID: <same@x>\r\nSubject: two');
    assert.notEqual(fingerprintOf(a), fingerprintOf(b));
    assert.equal(fingerprintOf(a), fingerprintOf(Buffer.from(a)));
  });
  it('falls back to the whole message without a Message-ID (or an empty one)', () => {
    const a = msg('Subject: same', 'one');
    const b = msg('Subject: same', 'two');
    assert.notEqual(fingerprintOf(a), fingerprintOf(b));
    assert.match(fingerprintOf(a), /^b:/);
    assert.match(fingerprintOf(msg('Message-ID: <>\r\nSubject: x')), /^b:/);
    assert.match(fingerprintOf(Buffer.alloc(0)), /^b:/);
  });
  it('parses hostile headers: folded, LF-only, no blank line, 8-bit, encoded words, junk', () => {
    assert.equal(messageIdOf('Message-ID:\r\n <folded@x>\r\n\r\n'), '<folded@x>');
    assert.equal(messageIdOf('message-id: <lf@x>\nSubject: y\n\nbody'), '<lf@x>');
    assert.equal(messageIdOf('Subject: x\r\n\r\nMessage-ID: <in-body@x>'), undefined);
    assert.equal(messageIdOf('Message-ID: not-bracketed@x trailing'), 'not-bracketed@x');
    assert.equal(headerBlock(Buffer.from('no blank line at all')).toString(), 'no blank line at all');
    assert.equal(headerBlock(Buffer.from('A: b\n\nbody\r\n\r\n')).toString(), 'A: b\n\n');
    assert.equal(subjectOf(Buffer.from('Subject: =?UTF-8?B?w5xiZXJ3ZWlzdW5n?= =?utf-8?q?_f=C3=BCr?=\r\n\r\n')), 'Überweisung für');
    assert.equal(subjectOf(Buffer.from('Subject: Zürich raw 8-bit\r\n\r\n')), 'Zürich raw 8-bit');
    // Any charset libmime knows is decoded (it was UTF-8 and Latin-1 only); an unknown one stays a word.
    assert.equal(subjectOf(Buffer.from('Subject: =?koi8-r?B?8NLP?=\r\n\r\n')), 'Про');
    assert.equal(subjectOf(Buffer.from('Subject: =?x-no-such?B?8NLP?= =?utf-8?Q?ok?=\r\n\r\n')), '=?x-no-such?B?8NLP?= ok');
    assert.equal(subjectOf(Buffer.from(`Subject: =?utf-8?Q?${'a'.repeat(600)}?=\r\n\r\n`))?.length, 500);
    assert.equal(subjectOf(Buffer.from('From: a@b\r\n\r\nSubject: in the body\r\n')), undefined);
    assert.equal(headerField('X: 1\r\n\u0000garbage\r\n\r\n', 'y'), undefined);
  });
  it('matches as a multiset', () => {
    const pairs = matchFingerprints(
      [
        { key: 1, fp: 'a' },
        { key: 2, fp: 'a' },
        { key: 3, fp: 'b' },
      ],
      [
        { key: 10, fp: 'a' },
        { key: 11, fp: 'c' },
      ],
    );
    assert.deepEqual(pairs, [{ from: 1, to: 10 }]);
  });
});

describe('flags and keywords', () => {
  it('keeps system flags, drops \\Recent, filters keywords by PERMANENTFLAGS, renames through the map', () => {
    const r = mapFlags(['\\SEEN', '\\Recent', '\\Answered', '$Forwarded', 'Project-Phoenix', 'Old'], {
      permanent: new Set(['\\Seen', '\\Answered', '$Forwarded', 'New']),
      keywordMap: { Old: 'New' },
    });
    assert.deepEqual(r.flags, ['$Forwarded', 'New', '\\Answered', '\\Seen']);
    assert.deepEqual(r.refused, ['Project-Phoenix']);
  });
  it('allows any valid keyword with \\* or no PERMANENTFLAGS, never an invalid atom', () => {
    const bad = ['with space', 'paren(', 'star*', 'quote"', 'brace{', 'ümlaut', ''];
    const r = mapFlags(['ok', ...bad], { permanent: new Set(['\\*']), keywordMap: {} });
    assert.deepEqual(r.flags, ['ok']);
    assert.deepEqual(r.refused, bad);
    assert.deepEqual(mapFlags(['x'], { permanent: undefined, keywordMap: {} }).flags, ['x']);
  });
});

describe('UID sets and IMAP lines', () => {
  it('packs and expands UID sets', () => {
    assert.equal(packUids([5, 1, 2, 3, 9, 9, 10]), '1:3,5,9:10');
    assert.deepEqual(expandUidSet('951:953,7'), [951, 952, 953, 7]);
    assert.deepEqual(expandUidSet('5:3'), [3, 4, 5]);
    for (const bad of ['', 'a', '1:', '1::2', '1:99999999']) assert.equal(expandUidSet(bad), undefined, bad);
  });
  it('parses tagged answers and quotes names', () => {
    assert.deepEqual(parseTagged('X1 OK [APPENDUID 38505 3955:3964] Append completed.'), {
      tag: 'X1',
      status: 'OK',
      code: 'APPENDUID 38505 3955:3964',
      text: 'Append completed.',
    });
    assert.equal(parseTagged('* OK [UIDVALIDITY 1] x'), undefined);
    assert.equal(parseTagged('X2 NO')?.status, 'NO');
    assert.equal(quoteMailbox({ utf8: false }, 'Zürich "x" \\ y'), '"Z&APw-rich \\"x\\" \\\\ y"');
    assert.throws(() => quoteMailbox({ utf8: false }, 'a\r\nb'), /cannot be sent/);
    assert.equal(imapDateTime(new Date('2020-03-02T01:02:03Z')), '"02-Mar-2020 01:02:03 +0000"');
  });
  it('classes transient failures', () => {
    assert.ok(isTransient(Object.assign(new Error('x'), { code: 'ECONNRESET' })));
    assert.ok(isTransient(Object.assign(new Error('x'), { serverResponseCode: 'UNAVAILABLE' })));
    assert.ok(isTransient(new Error('cannot log in to u on imaps://h: Unexpected close')));
    assert.ok(!isTransient(new Error('Mailbox does not exist')));
  });
  it('backs off exponentially, jittered between 1 and 2 times, capped', () => {
    const p = { retries: 9, retryIntervalMs: 2_000 };
    assert.deepEqual(
      [1, 2, 3].map((n) => backoffMs(n, p, () => 0)),
      [2_000, 4_000, 8_000],
    );
    assert.equal(
      backoffMs(2, p, () => 0.5),
      6_000,
    );
    assert.equal(
      backoffMs(6, p, () => 0.99),
      60_000,
      'the default cap',
    );
    assert.equal(
      backoffMs(3, { ...p, maxRetryIntervalMs: 5_000 }, () => 0),
      5_000,
    );
    assert.equal(backoffMs(40, p), 60_000);
  });
  it('retries transient failures only, at most `retries` times, telling each wait first', async () => {
    const heard: [number, number][] = [];
    let calls = 0;
    const drop = () => Object.assign(new Error('x'), { code: 'ECONNRESET' });
    const v = await withRetries(
      async (attempt) => {
        calls++;
        if (attempt < 2) throw drop();
        return attempt;
      },
      { retries: 3, retryIntervalMs: 1 },
      (_err, attempt, waitMs) => {
        heard.push([attempt, waitMs]);
      },
    );
    assert.equal(v, 2);
    assert.equal(calls, 3);
    assert.deepEqual(
      heard.map(([a]) => a),
      [1, 2],
    );
    assert.ok(heard.every(([a, w]) => w >= 2 ** (a - 1) && w <= 2 ** a));
    await assert.rejects(
      withRetries(
        () => Promise.reject(drop()),
        { retries: 2, retryIntervalMs: 0 },
        () => undefined,
      ),
      /x/,
    );
    let permanent = 0;
    await assert.rejects(
      withRetries(
        () => {
          permanent++;
          return Promise.reject(new Error('Mailbox does not exist'));
        },
        { retries: 5, retryIntervalMs: 0 },
        () => assert.fail('not retried'),
      ),
      /does not exist/,
    );
    assert.equal(permanent, 1);
  });
});

describe('ACL translation', () => {
  const map = (id: string): string | undefined => (id.endsWith('@a.test') ? id.replace('@a.test', '@b.test') : undefined);
  it('maps identifiers, keeps negative rights and special ids, never writes the owner, reports unmapped', () => {
    const r = translateAcl(
      [
        { identifier: 'boss@a.test', rights: 'lrswipkxtecda' },
        { identifier: 'assistant@a.test', rights: 'lrswi' },
        { identifier: '-intern@a.test', rights: 'w' },
        { identifier: 'anyone', rights: 'l' },
        { identifier: 'group:sales', rights: 'lr' },
        { identifier: 'target-owner-alias@a.test', rights: '' },
      ],
      'boss@a.test',
      'target-owner-alias@b.test',
      map,
    );
    assert.deepEqual(r.apply, [
      { identifier: 'assistant@b.test', rights: 'lrswi' },
      { identifier: '-intern@b.test', rights: 'w' },
      { identifier: 'anyone', rights: 'l' },
    ]);
    assert.deepEqual(r.unmapped, ['group:sales']);
  });
});
