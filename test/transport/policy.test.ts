// Unit: per remote-domain policy resolution and per-recipient decisions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transportSchema } from '../../src/config/transport.ts';
import { decide, headersToStrip, policyFor, policyTable } from '../../src/transport/policy.ts';
import type { Classification, MessageKind } from '../../src/transport/types.ts';

const cls = (kind: MessageKind): Classification => ({ kind, signals: [] });

const table = policyTable(
  transportSchema.parse({
    internalDomains: ['corp.test'],
    policy: {
      '*': { onBlock: 'drop' },
      'partner.test': { partner: true },
      'strict-partner.test': { partner: true, autoForward: 'block', onBlock: 'reject' },
      'noisy.test': { nonDeliveryReport: 'block' },
    },
  }),
  ['forest-a.test', 'forest-b.test'],
);

describe('policy', () => {
  it('applies the seed defaults to the Internet', () => {
    const p = policyFor(policyTable(undefined, ['forest-a.test']), 'internet.test');
    assert.equal(p.matched, '*');
    assert.deepEqual(
      [p.actions.outOfOffice, p.actions.autoReply, p.actions.autoForward, p.actions.nonDeliveryReport, p.actions.deliveryReport],
      ['block', 'block', 'block', 'allow', 'allow'],
    );
    assert.equal(p.stripReadReceiptRequests, true);
    assert.equal(p.onBlock, 'reject');
  });

  it('lets partners have everything, subdomains included, and the longest key wins', () => {
    assert.equal(policyFor(table, 'partner.test').actions.outOfOffice, 'allow');
    assert.equal(policyFor(table, 'mx.eu.partner.test').matched, 'partner.test');
    assert.equal(policyFor(table, 'notpartner.test').matched, '*');
    const strict = policyFor(table, 'strict-partner.test');
    assert.equal(strict.actions.outOfOffice, 'allow');
    assert.equal(strict.actions.autoForward, 'block');
    assert.equal(strict.onBlock, 'reject');
    assert.equal(policyFor(table, 'noisy.test').actions.nonDeliveryReport, 'block');
    assert.equal(policyFor(table, 'noisy.test').onBlock, 'drop', 'unset keys inherit from *');
  });

  it('never blocks between the organizations', () => {
    for (const d of ['forest-a.test', 'forest-b.test', 'sub.forest-b.test', 'corp.test'])
      assert.equal(policyFor(table, d).matched, 'internal');
    const d = decide(table, 'outbound', ['x@forest-b.test', 'y@internet.test', 'z@partner.test'], cls('outOfOffice'), []);
    assert.deepEqual(d.allowed, ['x@forest-b.test', 'z@partner.test']);
    assert.deepEqual(d.blocked, [{ recipient: 'y@internet.test', policy: '*' }]);
    assert.equal(d.onBlock, 'drop');
  });

  it('rejects when any blocking entry says reject', () => {
    const d = decide(table, 'outbound', ['y@internet.test', 'q@strict-partner.test'], cls('autoForward'), []);
    assert.equal(d.allowed.length, 0);
    assert.equal(d.onBlock, 'reject');
  });

  it('passes normal mail and everything inbound, stripping by sender domain', () => {
    assert.equal(decide(table, 'outbound', ['y@internet.test'], cls('normal'), []).allowed.length, 1);
    assert.equal(decide(table, 'inbound', ['a@forest-a.test'], cls('outOfOffice'), []).allowed.length, 1);
    assert.equal(headersToStrip(table, 'inbound', 'x@internet.test').length, 3);
    assert.equal(headersToStrip(table, 'inbound', '').length, 3, 'the null sender gets the * entry');
    assert.equal(headersToStrip(table, 'inbound', 'p@partner.test').length, 0);
    assert.equal(headersToStrip(table, 'outbound', 'x@internet.test').length, 0);
  });

  it('refuses a policy typo with the key path', () => {
    const r = transportSchema.safeParse({ policy: { '*': { outOfOfice: 'block' } } });
    assert.equal(r.success, false);
    const r2 = transportSchema.safeParse({ policy: { '*': { outOfOffice: 'deny' } } });
    assert.equal(r2.success, false);
  });
});
