// Folder mapping: pure, with the hostile names real mailboxes carry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeSegment, globToRegExp, isIncluded, mapFolders, type SourceFolder, sourceSegments } from '../../src/mail/folderMap.ts';

const A = { prefix: 'INBOX.', delimiter: '.' };
const B = { prefix: '', delimiter: '/' };
const none: { include: string[]; exclude: string[]; renames: { from: string; to: string }[] } = {
  include: ['**'],
  exclude: [],
  renames: [],
};
const f = (path: string, specialUse?: string, delimiter = '.'): SourceFolder => ({ path, delimiter, specialUse });
const targets = (
  folders: SourceFolder[],
  src = A,
  tgt = B,
  special: Record<string, string> = { '\\Sent': 'Sent', '\\Trash': 'Trash' },
  o = none,
) => Object.fromEntries(mapFolders(folders, src, tgt, special, o).mappings.map((m) => [m.source, m.target]));

describe('folder mapping', () => {
  it('strips the INBOX. prefix and translates the separator', () => {
    assert.deepEqual(targets([f('INBOX'), f('INBOX.Projects'), f('INBOX.Projects.Phoenix')]), {
      INBOX: 'INBOX',
      'INBOX.Projects': 'Projects',
      'INBOX.Projects.Phoenix': 'Projects/Phoenix',
    });
  });
  it('maps the reverse direction (/ into INBOX.)', () => {
    const m = targets([f('INBOX', undefined, '/'), f('Projects/Phoenix', undefined, '/'), f('v1.2 notes', undefined, '/')], B, A, {});
    assert.deepEqual(m, { INBOX: 'INBOX', 'Projects/Phoenix': 'INBOX.Projects.Phoenix', 'v1.2 notes': 'INBOX.v1\u20242 notes' });
  });
  it('maps special-use folders by use whatever their names, with their subfolders', () => {
    const m = targets([
      f('INBOX.Sent Items', '\\Sent'),
      f('INBOX.Sent Items.2019'),
      f('INBOX.Deleted Items', '\\Trash'),
      f('INBOX.Junk E-mail', '\\Junk'),
    ]);
    assert.equal(m['INBOX.Sent Items'], 'Sent');
    assert.equal(m['INBOX.Sent Items.2019'], 'Sent/2019');
    assert.equal(m['INBOX.Deleted Items'], 'Trash');
    // The target has no \Junk folder: the name is kept.
    assert.equal(m['INBOX.Junk E-mail'], 'Junk E-mail');
  });
  it('escapes the target separator inside a source segment, predictably', () => {
    const m = targets([f('INBOX.Q1/Q2 Reports'), f('INBOX.Partners.Vendors/Suppliers'), f('INBOX.a..b')]);
    assert.equal(m['INBOX.Q1/Q2 Reports'], 'Q1\u2215Q2 Reports');
    assert.equal(m['INBOX.Partners.Vendors/Suppliers'], 'Partners/Vendors\u2215Suppliers');
    assert.equal(m['INBOX.a..b'], 'a/_/b');
    assert.equal(escapeSegment('x/y', '/', '-'), 'x-y');
    assert.equal(escapeSegment('x|y', '|'), 'x_y');
  });
  it('keeps Unicode names (imapflow decodes modified UTF-7)', () => {
    const m = targets([f('INBOX.日本語.取引先'), f('INBOX.Zürich ☕'), f('INBOX.Ação & Co')]);
    assert.equal(m['INBOX.日本語.取引先'], '日本語/取引先');
    assert.equal(m['INBOX.Zürich ☕'], 'Zürich ☕');
    assert.equal(m['INBOX.Ação & Co'], 'Ação & Co');
  });
  it('never lands a folder on INBOX by accident', () => {
    assert.equal(targets([f('INBOX.INBOX'), f('inbox')])['INBOX.INBOX'], 'INBOX_');
    assert.equal(targets([f('inbox')]).inbox, 'INBOX');
  });
  it('applies include/exclude globs and renames (longest rename wins)', () => {
    const o = {
      include: ['**'],
      exclude: ['Old Mail/**', 'Calendar', 'Tas?s'],
      renames: [
        { from: 'Projects', to: 'Archive/Projects' },
        { from: 'Projects/Atlas', to: 'Atlas' },
      ],
    };
    const m = targets(
      [
        f('INBOX'),
        f('INBOX.Old Mail.2017'),
        f('INBOX.Calendar'),
        f('INBOX.Tasks'),
        f('INBOX.Projects.Phoenix'),
        f('INBOX.Projects.Atlas.Design'),
        f('INBOX.Old Mail'),
      ],
      A,
      B,
      {},
      o,
    );
    assert.deepEqual(m, {
      INBOX: 'INBOX',
      'INBOX.Projects.Phoenix': 'Archive/Projects/Phoenix',
      'INBOX.Projects.Atlas.Design': 'Atlas/Design',
      'INBOX.Old Mail': 'Old Mail',
    });
  });
  it('reports two source folders landing on one target', () => {
    const r = mapFolders([f('INBOX.Sent Items', '\\Sent'), f('INBOX.Sent')], A, B, { '\\Sent': 'Sent' }, none);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0] as string, /both map to "Sent"/);
  });
  it('survives hostile names: regex characters, empty names, flat servers', () => {
    assert.ok(globToRegExp('a.(b)+[c]').test('a.(b)+[c]'));
    assert.ok(!globToRegExp('a.b').test('axb'));
    assert.ok(isIncluded('x/y/z', { include: ['x/**'], exclude: [] }));
    assert.ok(!isIncluded('x/y', { include: ['x/*'], exclude: ['x/y'] }));
    assert.deepEqual(sourceSegments('INBOX.', A), ['']);
    assert.deepEqual(sourceSegments('Flat Name.x', { prefix: '', delimiter: '' }), ['Flat Name.x']);
    assert.deepEqual(sourceSegments('Other', A), ['Other']);
    const m = targets([f('INBOX.', undefined)]);
    assert.equal(m['INBOX.'], '_');
  });
});
