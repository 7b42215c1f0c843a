// The `mail` section of the project file: defaults, the example, and typos refused with
// the key path, line and a suggestion.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exampleProjectFile } from '../../src/config/example.ts';
import { parseProject } from '../../src/config/load.ts';
import { defaultMailCopyOptions } from '../../src/config/mail.ts';

describe('mail section of the project file', () => {
  it('has safe defaults: every folder, no bad item tolerated, deletions reported not applied', () => {
    const o = defaultMailCopyOptions();
    assert.deepEqual(o.include, ['**']);
    assert.equal(o.badItemLimit, 0);
    assert.equal(o.deleteOnTarget, false);
    assert.equal(o.copyAcls, true);
  });
  it('the crossforest init example parses and carries the section', () => {
    const cfg = parseProject(exampleProjectFile());
    assert.equal(cfg.mail?.badItemLimit, 10);
    assert.equal(cfg.mail?.concurrency, 4);
  });
  it('refuses a typo with the path, the line and a suggestion', () => {
    const text = exampleProjectFile().replace('  badItemLimit: 10', '  badItemLimt: 10');
    assert.throws(
      () => parseProject(text),
      (err: Error) => {
        assert.match(err.message, /mail\.badItemLimt: unknown key "badItemLimt" \(did you mean "badItemLimit"\?\)/);
        assert.match(err.message, /crossforest\.yaml:\d+/);
        return true;
      },
    );
  });
  it('refuses nonsense values', () => {
    const bad = exampleProjectFile().replace('  concurrency: 4 ', '  concurrency: 0 ');
    assert.throws(() => parseProject(bad), /mail\.concurrency/);
    assert.throws(() => parseProject(exampleProjectFile().replace('renames: []', 'renames: [{ from: x }]')), /mail\.renames\.0\.to/);
  });
});
