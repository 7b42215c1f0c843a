// The project file: what a typo, a missing key or a wrong type says, and that the
// example written by `crossforest init` is itself valid.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exampleProjectFile } from '../../src/config/example.ts';
import { type ConfigProblem, loadProject, parseProject } from '../../src/config/load.ts';
import { readReferencedFile, resolveSecret } from '../../src/config/secret.ts';
import { ConfigError } from '../../src/util/errors.ts';

function problemsOf(text: string): ConfigProblem[] {
  try {
    parseProject(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    return (err as ConfigError & { problems: ConfigProblem[] }).problems;
  }
  assert.fail('expected the project file to be refused');
}

test('the init example is a valid project file with both lab organizations', () => {
  const cfg = parseProject(exampleProjectFile());
  assert.deepEqual(Object.keys(cfg.organizations).sort(), ['a', 'b']);
  assert.equal(cfg.organizations.a?.role, 'source');
  assert.equal(cfg.organizations.b?.directory.url, 'ldaps://127.0.0.1:6362');
  assert.equal(cfg.organizations.a?.directory.mailboxFilter, '(&(objectClass=user)(homeMDB=*))');
});

test('a typo in a key is an unknown-key error with its line and a suggestion', () => {
  const text = exampleProjectFile().replace(
    '      masterUser: admin\n      masterPassword: { file: .lab/secrets/mail-a-master.pw }',
    '      masterUser: admin\n      masterPasword: { file: .lab/secrets/mail-a-master.pw }',
  );
  const problems = problemsOf(text);
  const typo = problems.find((p) => p.path === 'organizations.a.mailStore.masterPasword');
  assert.ok(typo, JSON.stringify(problems));
  assert.match(typo.message, /unknown key "masterPasword" \(did you mean "masterPassword"\?\)/);
  const line = text.split('\n').findIndex((l) => l.includes('masterPasword')) + 1;
  assert.equal(typo.line, line);
  // The missing key it replaced is reported too, not only the first problem.
  assert.ok(problems.some((p) => p.path === 'organizations.a.mailStore.masterPassword' && /missing/.test(p.message)));
});

test('a missing required key names the key path and its parent line', () => {
  const text = exampleProjectFile().replace('      baseDn: dc=forest-a,dc=test\n', '');
  const problems = problemsOf(text);
  const missing = problems.find((p) => p.path === 'organizations.a.directory.baseDn');
  assert.ok(missing, JSON.stringify(problems));
  assert.match(missing.message, /required key is missing/);
  assert.ok(typeof missing.line === 'number' && missing.line > 1);
});

test('a wrong type says what was expected', () => {
  const text = exampleProjectFile().replace('timeoutMs: 10000', 'timeoutMs: ten seconds');
  const problems = problemsOf(text);
  const wrong = problems.find((p) => p.path === 'organizations.a.directory.timeoutMs');
  assert.ok(wrong, JSON.stringify(problems));
  assert.match(wrong.message, /expected number/);
});

test('a bad URL, a bad enum value and a YAML syntax error are refused clearly', () => {
  const bad = exampleProjectFile()
    .replace('url: ldap://127.0.0.1:3891', 'url: http://127.0.0.1:3891')
    .replace('tls: starttls', 'tls: sometimes');
  const problems = problemsOf(bad);
  assert.ok(problems.some((p) => p.path === 'organizations.a.directory.url' && /LDAP URL/.test(p.message)));
  assert.ok(problems.some((p) => p.path === 'organizations.a.mailStore.tls'));
  const syntax = problemsOf('organizations:\n  a: [1,\n');
  assert.equal(syntax[0]?.path, '(syntax)');
  assert.ok(syntax[0]?.line);
  assert.ok(problemsOf('organizations: {}\n').length > 0, 'no organization at all is refused');
  assert.ok(
    problemsOf('project: x\nproject: y\norganizations: {}\n').some((p) => p.path === '(syntax)'),
    'duplicate keys',
  );
});

test('hostile input never throws anything but a ConfigError', () => {
  const inputs = [
    '',
    '---',
    '- a\n- b',
    '{{{{',
    '\u0000\u0001',
    'organizations: !!binary AAAA',
    'a: &x [*x]',
    '"'.repeat(10_000),
    `k: ${'['.repeat(2000)}`,
  ];
  for (const text of inputs) {
    try {
      parseProject(text);
      assert.fail(`accepted ${JSON.stringify(text.slice(0, 20))}`);
    } catch (err) {
      assert.ok(err instanceof ConfigError, `${JSON.stringify(text.slice(0, 20))} threw ${err}`);
    }
  }
});

test('secrets come from a file or the environment and are never in messages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cf-secret-'));
  writeFileSync(join(dir, 'pw'), 's3cret-value\nignored second line\n');
  assert.equal(resolveSecret({ file: 'pw' }, dir, 'x.password'), 's3cret-value');
  process.env.CF_TEST_SECRET = 'from-env';
  assert.equal(resolveSecret({ env: 'CF_TEST_SECRET' }, dir, 'x.password'), 'from-env');
  assert.throws(
    () => resolveSecret({ env: 'CF_TEST_SECRET_UNSET' }, dir, 'organizations.a.directory.password'),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /organizations\.a\.directory\.password: environment variable CF_TEST_SECRET_UNSET is not set/);
      return true;
    },
  );
  assert.throws(() => resolveSecret({ file: 'nope.pw' }, dir, 'k'), /secret file .*nope\.pw does not exist/);
  assert.throws(
    () => readReferencedFile('ca-missing.pem', dir, 'organizations.b.directory.caFile'),
    /organizations\.b\.directory\.caFile: file .* does not exist/,
  );
});

test('loadProject names a missing project file and how to make one', () => {
  assert.throws(
    () => loadProject('/nonexistent/crossforest.yaml'),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /does not exist/);
      assert.match((err as ConfigError).hint ?? '', /crossforest init/);
      return true;
    },
  );
});
