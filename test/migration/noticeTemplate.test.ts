// User-notice templates (pure): substitution, hostile templates and values, the config's
// load-time checks with key paths, the built-in text carrying the seed's expectations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exampleProjectFile } from '../../src/config/example.ts';
import { parseProject } from '../../src/config/load.ts';
import { noticeDue } from '../../src/migration/notices.ts';
import {
  DEFAULT_NOTICES,
  type NoticeValues,
  parseTemplate,
  render,
  renderSubject,
  subjectProblems,
} from '../../src/migration/noticeTemplate.ts';
import type { MailboxRow } from '../../src/migration/types.ts';

const values: NoticeValues = {
  displayName: 'Jane Doe',
  sourceAddress: 'jane@forest-a.test',
  targetAddress: 'jane@forest-b.test',
  batch: 'group1',
  workgroup: 'Sales',
  window: 'as soon as possible',
};

/** The example project with the commented notices block enabled and `extra` lines under it. */
const withNotices = (extra = ''): string =>
  exampleProjectFile()
    .replace(/^ {2}# notices:.*$/m, '  notices:')
    .replace(/^ {2}# {3}smtp:/m, '    smtp:')
    .replace(/^ {2}# {3}from:/m, '    from:')
    .replace(/^ {2}# {3}after:.*$/m, extra);

describe('notice templates', () => {
  it('fills every placeholder; {{ and }} are literal braces', () => {
    assert.equal(
      render('{displayName} <{sourceAddress}> → {targetAddress} [{batch}/{workgroup}] {window} {{literal}}', values),
      'Jane Doe <jane@forest-a.test> → jane@forest-b.test [group1/Sales] as soon as possible {literal}',
    );
  });
  it('never re-scans values: a displayName reading {batch} stays literal', () => {
    assert.equal(render('Hi {displayName}', { ...values, displayName: '{batch}}{' }), 'Hi {batch}}{');
  });
  it('refuses unknown placeholders and lone braces, naming each', () => {
    const p = parseTemplate('x {password} y { z } {batch').problems;
    assert.equal(p.length, 4);
    assert.match(p[0]!, /unknown placeholder \{password\}/);
    assert.match(p[1]!, /lone "\{" at character 16/);
    assert.match(p[2]!, /lone "\}" at character 20/);
    assert.match(p[3]!, /lone "\{" at character 22/);
    assert.match(parseTemplate('a } b').problems[0]!, /lone "\}" at character 3/);
    assert.match(parseTemplate('{constructor}').problems[0]!, /unknown placeholder/);
    assert.throws(() => render('{__proto__}', values), /unknown placeholder/);
  });
  it('a subject with CR/LF is refused; CR/LF in a value cannot add a header', () => {
    assert.match(subjectProblems('Hello\r\nBcc: everyone@forest-b.test').join(), /line break/);
    const s = renderSubject('Moved: {displayName}', { ...values, displayName: 'Eve\r\nBcc: all@forest-b.test\u0000' });
    assert.equal(s, 'Moved: Eve Bcc: all@forest-b.test');
    assert.doesNotMatch(s, /[\r\n]/);
  });
  it('the built-in notices carry the seed expectations and are valid templates', () => {
    for (const k of ['before', 'after'] as const) {
      assert.deepEqual(parseTemplate(DEFAULT_NOTICES[k].body).problems, []);
      assert.deepEqual(subjectProblems(DEFAULT_NOTICES[k].subject), []);
    }
    const b = render(DEFAULT_NOTICES.before.body, values);
    assert.match(b, /For the first week please choose recipients from the Global Address List/);
    assert.match(b, /99\.9%/);
    assert.match(b, /Delegates will need to be set up again/);
    assert.match(b, /Hello Jane Doe/);
  });
});

describe('migration.notices in the project file', () => {
  it('the example parses with notices enabled, defaults filled', () => {
    const n = parseProject(withNotices()).migration?.notices;
    assert.equal(n?.smtp.port, 5872);
    assert.equal(n?.smtp.tls, 'none');
    assert.equal(n?.sendBefore, true);
    assert.equal(n?.before, undefined);
  });
  it('an unknown placeholder is a load error with its key path', () => {
    assert.throws(
      () => parseProject(withNotices('    after: { subject: "Hi {displayname}", body: "x" }')),
      (e: Error) => {
        assert.match(e.message, /migration\.notices\.after\.subject/);
        assert.match(e.message, /unknown placeholder \{displayname\}/);
        return true;
      },
    );
  });
  it('a subject with a line break and an unknown key are refused', () => {
    assert.throws(() => parseProject(withNotices('    after: { subject: "Hi\\r\\nBcc: x@y", body: "x" }')), /line break/);
    assert.throws(() => parseProject(withNotices('    sendBefor: false')), /sendBefor/);
  });
});

describe('when a notice is due', () => {
  const m = (state: MailboxRow['state'], resumeState: MailboxRow['resumeState'] = null) => ({ state, resumeState }) as MailboxRow;
  it('before: until cutover (parked mailboxes by their resume state); after: once done', () => {
    assert.equal(noticeDue('before', m('queued')), true);
    assert.equal(noticeDue('before', m('copied')), true);
    assert.equal(noticeDue('before', m('failed', 'prestaged')), true);
    assert.equal(noticeDue('before', m('cutover')), 'missed');
    assert.equal(noticeDue('before', m('done')), 'missed');
    assert.equal(noticeDue('after', m('verified')), false);
    assert.equal(noticeDue('after', m('done')), true);
  });
});
