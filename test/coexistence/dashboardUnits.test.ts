// The dashboard's pure logic: the recent rate and the ETA against the window, chart
// downsampling, report names (hostile ones too), the Cookie header parser, sessions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eta, recentRate } from '../../src/coexistence/dashboard/eta.ts';
import { cookieValue, OperatorSessions, SESSION_COOKIE } from '../../src/coexistence/dashboard/operatorSessions.ts';
import { downsample, mailboxErrors } from '../../src/coexistence/dashboard/queries.ts';
import { isSafeSegment } from '../../src/coexistence/dashboard/reportFiles.ts';
import type { MailboxRow } from '../../src/migration/types.ts';
import { mailbox } from './dashboardFixture.ts';

const T = Date.parse('2026-11-28T12:00:00Z');
const at = (secondsAgo: number) => new Date(T - secondsAgo * 1000).toISOString();

test('recent rate: the last minute only; a batch copying for 10 s is measured over 10 s; a stall is 0', () => {
  const minute = Array.from({ length: 60 }, (_, i) => ({ at: at(i), messages: 10, bytes: 1000 }));
  assert.deepEqual(recentRate(minute, T), { messagesPerSecond: 10, bytesPerSecond: 1000 });
  const old = [{ at: at(120), messages: 5000, bytes: 1 }];
  assert.deepEqual(recentRate([...old, ...minute], T), { messagesPerSecond: 10, bytesPerSecond: 1000 }, 'older samples do not count');
  const fresh = Array.from({ length: 10 }, (_, i) => ({ at: at(i), messages: 30, bytes: 0 }));
  assert.equal(recentRate(fresh, T).messagesPerSecond, 30);
  assert.deepEqual(recentRate(old, T), { messagesPerSecond: 0, bytesPerSecond: 0 });
});

test('recent rate ignores hostile samples: unparsable times, future times, negative counts', () => {
  const s = [
    { at: 'not a date', messages: 1e9, bytes: 1e9 },
    { at: at(-30), messages: 1e9, bytes: 1e9 },
    { at: at(0), messages: -50, bytes: -50 },
    { at: at(0), messages: 10, bytes: 10 },
  ];
  assert.deepEqual(recentRate(s, T), { messagesPerSecond: 10, bytesPerSecond: 10 });
});

test('ETA: remaining at the recent rate, judged against the window stop', () => {
  const s = Array.from({ length: 60 }, (_, i) => ({ at: at(i), messages: 10, bytes: 0 }));
  const fits = eta(s, 6000, new Date(T + 3_600_000).toISOString(), T);
  assert.equal(fits.seconds, 600);
  assert.equal(fits.finishesAt, new Date(T + 600_000).toISOString());
  assert.equal(fits.fitsWindow, true);
  assert.equal(eta(s, 6000, new Date(T + 300_000).toISOString(), T).fitsWindow, false);
  assert.equal(eta(s, 6000, null, T).fitsWindow, null, 'no window, no verdict');
  const stalled = eta([], 6000, new Date(T + 300_000).toISOString(), T);
  assert.equal(stalled.seconds, null);
  assert.equal(stalled.fitsWindow, null);
  assert.equal(eta([], 0, null, T).seconds, 0, 'nothing left: done');
  assert.equal(eta(s, 10, 'garbage', T).fitsWindow, null);
});

test('downsample: at most N points, totals kept', () => {
  const s = Array.from({ length: 21_600 }, (_, i) => ({ at: new Date(T + i * 1000).toISOString(), messages: 2, bytes: 3 }));
  const d = downsample(s, 600);
  assert.ok(d.length <= 600);
  assert.equal(
    d.reduce((a, x) => a + x.messages, 0),
    43_200,
  );
  assert.equal(d.at(-1)?.at, s.at(-1)?.at);
  assert.deepEqual(downsample(s.slice(0, 3), 600), s.slice(0, 3));
});

test('report names: one safe segment, never a way out', () => {
  for (const ok of ['batch.html', 'wave-1', 'jose.muller@forest-a.test.json', 'a_b+c']) assert.ok(isSafeSegment(ok), ok);
  for (const bad of [
    '',
    '.',
    '..',
    '../x',
    '..%2f',
    'a/b',
    'a\\b',
    '.hidden',
    '..html',
    'x..y',
    'a\0b',
    'é.html',
    ' batch.html',
    'a'.repeat(201),
    'C:',
    '%2e%2e',
  ]) {
    assert.equal(isSafeSegment(bad), false, JSON.stringify(bad));
  }
});

test('Cookie header: the named cookie only, whatever else is sent', () => {
  assert.equal(cookieValue(`a=1; ${SESSION_COOKIE}=tok; b=2`, SESSION_COOKIE), 'tok');
  assert.equal(cookieValue(`x${SESSION_COOKIE}=evil; ${SESSION_COOKIE}=tok`, SESSION_COOKIE), 'tok');
  assert.equal(cookieValue(undefined, SESSION_COOKIE), undefined);
  assert.equal(cookieValue(';;;=;==', SESSION_COOKIE), undefined);
  assert.equal(cookieValue(`${SESSION_COOKIE}`, SESSION_COOKIE), undefined);
});

test('sessions: a token opens its operator until it expires or is closed; malformed tokens never match', () => {
  let now = T;
  const s = new OperatorSessions(10, () => now);
  const tok = s.open('ops');
  assert.match(tok, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(s.operatorOf(tok), 'ops');
  assert.equal(s.operatorOf(`${tok}x`), null);
  assert.equal(s.operatorOf(''), null);
  assert.equal(s.operatorOf('../../../../etc/passwd'), null);
  now += 10 * 60_000;
  assert.equal(s.operatorOf(tok), null, 'expired');
  const t2 = s.open('ops');
  s.close(t2);
  assert.equal(s.operatorOf(t2), null, 'closed');
});

test('mailbox errors: the failure, each skipped item and each verify problem, in their own words', () => {
  const row = {
    ...mailbox('kim'),
    id: 1,
    batchId: 1,
    state: 'failed',
    resumeState: 'copied',
    deltas: 0,
    error: 'cutover: LDAP modify refused: insufficientAccess',
    saved: null,
    messages: 1,
    bytes: 1,
    copied: 1,
    copiedBytes: 1,
    skipped: [{ folder: 'INBOX', uid: 9, size: 12, kind: 'corrupt', reason: 'unparsable MIME' }],
    fidelity: 0.5,
    verify: {
      ok: false,
      problems: ['split mailbox: 0 messages on target'],
      fidelity: 0.5,
      sourceMessages: 2,
      intact: 1,
      targetMessages: 1,
      checkedAt: at(0),
    },
    updatedAt: at(0),
  } satisfies MailboxRow;
  assert.deepEqual(mailboxErrors(row), [
    { mailbox: 'kim@forest-a.test', kind: 'failed', reason: 'cutover: LDAP modify refused: insufficientAccess' },
    { mailbox: 'kim@forest-a.test', kind: 'skipped', reason: 'INBOX uid 9: unparsable MIME (corrupt, 12 bytes)' },
    { mailbox: 'kim@forest-a.test', kind: 'verify', reason: 'split mailbox: 0 messages on target' },
  ]);
});
