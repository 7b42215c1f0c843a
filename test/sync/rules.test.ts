// Pure logic of the sync engine: transforms, the connector filter, join keys, value
// comparison, and the seed's two rules extensions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mailRule from '../../examples/rules/mail.ts';
import buildProxies from '../../examples/rules/proxyAddresses.ts';
import { syncSchema } from '../../src/config/sync.ts';
import { filteredBy } from '../../src/sync/connectorFilter.ts';
import { joinKeys } from '../../src/sync/joinRules.ts';
import { entryView } from '../../src/sync/rulesExtension.ts';
import { applyTransforms } from '../../src/sync/transforms.ts';
import { addressKeys, sameValues, uniqueValues } from '../../src/sync/values.ts';

describe('declared transforms', () => {
  it('apply in order', () => {
    assert.deepEqual(applyTransforms(['A/B@X.TEST'], [{ lowercase: true }, { replace: { pattern: '[/\\\\]', with: '', flags: 'g' } }]), [
      'ab@x.test',
    ]);
    assert.deepEqual(applyTransforms(['a;b; c'], [{ split: ';' }]), ['a', 'b', 'c']);
    assert.deepEqual(applyTransforms(['a', 'b'], [{ join: ', ' }]), ['a, b']);
    assert.deepEqual(applyTransforms([], [{ join: ', ' }]), []);
    assert.deepEqual(applyTransforms(['x'], [{ constant: ['1', '2'] }]), ['1', '2']);
    assert.deepEqual(applyTransforms(['/o=A/cn=x'], [{ prefix: 'X500:' }]), ['X500:/o=A/cn=x']);
    assert.deepEqual(applyTransforms(['SMTP:a@x', 'X400:c=US', 'x500:/o=A'], [{ keep: '^(smtp|x500):' }]), ['SMTP:a@x', 'x500:/o=A']);
    assert.deepEqual(applyTransforms(['a', 'b'], [{ first: true }]), ['a']);
  });
  it('a bad regular expression is refused by the config, not at run time', () => {
    const r = syncSchema.shape.agents.safeParse({
      a: {
        organization: 'a',
        containers: ['ou=x'],
        objectClasses: ['user'],
        attributes: ['mail'],
        importFlows: [{ to: 'mail', from: 'mail', transforms: [{ keep: '(' }] }],
      },
    });
    assert.equal(r.success, false);
  });
});

describe('connector filter', () => {
  const rules = [
    { reason: 'no Internet address', attribute: 'mail', when: 'absent' as const },
    { reason: 'hidden', attribute: 'msExchHideFromAddressLists', when: 'equals' as const, value: 'TRUE' },
  ];
  it('filters objects without mail and hidden ones, keeps the rest', () => {
    assert.equal(filteredBy(rules, 'user', { cn: ['x'] }), 'no Internet address');
    assert.equal(filteredBy(rules, 'user', { mail: ['  '] }), 'no Internet address');
    assert.equal(filteredBy(rules, 'user', { mail: ['a@x'], msexchhidefromaddresslists: ['true'] }), 'hidden');
    assert.equal(filteredBy(rules, 'user', { mail: ['a@x'], msExchHideFromAddressLists: ['FALSE'] }), undefined);
  });
  it('rules scoped to object classes', () => {
    assert.equal(filteredBy([{ ...rules[0]!, objectClasses: ['group'] }], 'user', {}), undefined);
  });
});

describe('join keys', () => {
  const rule = (match: 'ignoreCase' | 'exact' | 'smtpProxy') => ({ cs: 'proxyAddresses', mv: 'mail', match, transforms: [] });
  it('smtpProxy strips smtp:/SMTP: and drops other proxy types', () => {
    assert.deepEqual(joinKeys(rule('smtpProxy'), ['SMTP:Jose@X', 'smtp:j@x', 'X500:/o=A', 'plain@x']), ['jose@x', 'j@x', 'plain@x']);
    assert.deepEqual(joinKeys(rule('ignoreCase'), ['A@X']), ['a@x']);
    assert.deepEqual(joinKeys(rule('exact'), ['A@X']), ['A@X']);
  });
});

describe('value comparison', () => {
  it('ignores case and order, but not the primary SMTP marker', () => {
    assert.ok(sameValues('mail', ['A@x'], ['a@X']));
    assert.ok(sameValues('proxyAddresses', ['SMTP:a@x', 'smtp:b@x'], ['smtp:B@X', 'SMTP:A@X']));
    assert.ok(!sameValues('proxyAddresses', ['SMTP:a@x'], ['smtp:a@x']));
    assert.ok(!sameValues('cn', ['a'], ['a', 'b']));
    assert.deepEqual(uniqueValues('mail', ['a@x', 'A@X', 'b@x']), ['a@x', 'b@x']);
    assert.deepEqual(addressKeys({ mail: ['A@X'], proxyAddresses: ['SMTP:a@x', 'X500:/o=A'] }).sort(), ['smtp:a@x', 'x500:/o=a']);
  });
});

describe("the seed's rules extensions", () => {
  it('mail: strips / and \\', () => {
    assert.equal(mailRule.import.mail(entryView({ mail: ['Atlanta/sales@companya.com'] })), 'Atlantasales@companya.com');
    assert.equal(mailRule.import.mail(entryView({ mail: ['a\\b/c@x'] })), 'abc@x');
    assert.equal(mailRule.import.mail(entryView({})), undefined);
  });
  it('proxyAddresses from otherMailbox, rfc822Mailbox and textEncodedORaddress', () => {
    const got = buildProxies.import.proxyAddresses(
      entryView({
        mail: ['Atlanta/Sales@forest-a.test'],
        otherMailbox: ['ccmail$Sales, Atlanta at atlanta', 'broken-without-dollar'],
        textEncodedORAddress: ['c=US;a= ;p=ForestA;o=atlanta;s=sales;'],
        proxyAddresses: ['SMTP:atlanta/sales@forest-a.test', 'smtp:sales@forest-a.test', 'X400:c=US;a= ;p=ForestA;o=atlanta;s=sales;'],
      }),
    );
    assert.deepEqual(got, [
      'SMTP:AtlantaSales@forest-a.test',
      'smtp:sales@forest-a.test',
      'X400:c=US;a= ;p=ForestA;o=atlanta;s=sales;',
      'CCMAIL:Sales, Atlanta at atlanta',
    ]);
  });
  it('exactly one primary SMTP even when the directory has two', () => {
    const got = buildProxies.import.proxyAddresses(entryView({ mail: ['a@x'], proxyAddresses: ['SMTP:b@x', 'SMTP:a@x'] }));
    assert.deepEqual(got, ['SMTP:a@x', 'smtp:b@x']);
  });
});
