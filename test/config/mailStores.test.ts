// Many mail servers per organization (issue 12): `mailStores` in the project file, what a
// mistake in it says, and how a user's server is found from the directory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exampleProjectFile } from '../../src/config/example.ts';
import { type ConfigProblem, parseProject } from '../../src/config/load.ts';
import { orgMailStores, pickMailStore, serverNameOf, storeOfUser } from '../../src/config/organization.ts';
import { ConfigError } from '../../src/util/errors.ts';

const HOME1 = 'CN=Mailbox Store A,CN=First Storage Group,CN=InformationStore,CN=MAIL-A,CN=Servers,DC=forest-a,DC=test';
const HOME2 = 'CN=Mailbox Store A2,CN=First Storage Group,CN=InformationStore,CN=MAIL-A2,CN=Servers,DC=forest-a,DC=test';

/** The example with forest A's single mailStore turned into a list of the given servers. */
function withStores(entries: string[]): string {
  const text = exampleProjectFile();
  const start = text.indexOf('    mailStore:\n      host: 127.0.0.1\n      port: 1431');
  // The mail store block ends where the organization's calendar server begins.
  const end = text.indexOf('\n    calendar:', start);
  assert.ok(start > 0 && end > start);
  const block = text.slice(start, end);
  const body = block
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() && !l.includes('probeMailbox'))
    .map((l) => `  ${l}`)
    .join('\n');
  const list = entries.map((e) => `      - ${e}\n${body.replace(/^ {8}/, '        ')}`).join('\n');
  return `${text.slice(0, start)}    mailStores:\n${list}\n${text.slice(end)}`;
}

function problemsOf(text: string): ConfigProblem[] {
  try {
    parseProject(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return (err as ConfigError & { problems: ConfigProblem[] }).problems;
  }
  assert.fail('expected the project file to be refused');
}

test('mailStores: two servers, each found by its homeMDB; the single mailStore is one server', () => {
  const cfg = parseProject(withStores([`name: mbx-a1\n        homeMDB: "${HOME1}"`, `name: mbx-a2\n        homeMDB: "${HOME2}"`]));
  const stores = orgMailStores(cfg.organizations.a!, 'a');
  assert.deepEqual(
    stores.map((s) => [s.name, s.keyPath]),
    [
      ['mbx-a1', 'organizations.a.mailStores[0]'],
      ['mbx-a2', 'organizations.a.mailStores[1]'],
    ],
  );
  assert.equal(storeOfUser(stores, { homeMDB: HOME2.toLowerCase() })?.name, 'mbx-a2', 'homeMDB compares without case');
  assert.equal(storeOfUser(stores, { homeMDB: 'CN=Other' }), undefined);
  const single = orgMailStores(cfg.organizations.b!, 'b');
  assert.deepEqual(
    single.map((s) => [s.name, s.keyPath]),
    [['b', 'organizations.b.mailStore']],
  );
  assert.equal(storeOfUser(single, { homeMDB: 'anything' })?.name, 'b', 'one server holds everyone');
  assert.equal(pickMailStore(cfg.organizations.b!, 'b', undefined, '--target-server').name, 'b');
  assert.throws(() => pickMailStore(cfg.organizations.a!, 'a', undefined, '--source-server'), /2 mail servers.*/);
  assert.throws(() => pickMailStore(cfg.organizations.a!, 'a', 'mbx-a9', '--source-server'), /no mail server named "mbx-a9"/);
});

test('by server name: msExchHomeServerName ends in the server CN', () => {
  const cfg = parseProject(withStores(['name: one\n        serverName: MAIL-A1', 'name: two\n        serverName: MAIL-A2']));
  const stores = orgMailStores(cfg.organizations.a!, 'a');
  assert.equal(serverNameOf('/o=ForestA/ou=First Administrative Group/cn=Configuration/cn=Servers/cn=MAIL-A2'), 'MAIL-A2');
  assert.equal(storeOfUser(stores, { homeServerName: '/o=ForestA/ou=AG/cn=Configuration/cn=Servers/cn=mail-a2' })?.name, 'two');
  assert.equal(storeOfUser(stores, { homeMDB: 'CN=unknown', homeServerName: '/o=X/cn=Servers/cn=MAIL-A1' })?.name, 'one');
});

test('a server named twice, a shared homeMDB, a server without homeMDB, both forms: each refused with its path', () => {
  const twice = problemsOf(withStores([`name: mbx\n        homeMDB: "${HOME1}"`, `name: MBX\n        homeMDB: "${HOME2}"`]));
  assert.ok(
    twice.some((p) => p.path === 'organizations.a.mailStores.1.name' && /given twice/.test(p.message)),
    JSON.stringify(twice),
  );
  const shared = problemsOf(withStores([`name: x1\n        homeMDB: "${HOME1}"`, `name: x2\n        homeMDB: "${HOME1}"`]));
  assert.ok(
    shared.some((p) => /also the homeMDB of mailStores\[0\]/.test(p.message)),
    JSON.stringify(shared),
  );
  const bare = problemsOf(withStores([`name: x1\n        homeMDB: "${HOME1}"`, 'name: x2']));
  assert.ok(
    bare.some((p) => /server x2: with several servers each needs homeMDB/.test(p.message)),
    JSON.stringify(bare),
  );
  const both = withStores([`name: x1\n        homeMDB: "${HOME1}"`]).replace(
    '    mailStores:\n',
    '    mailStore: { host: 127.0.0.1, masterUser: a, masterPassword: { env: X } }\n    mailStores:\n',
  );
  assert.ok(problemsOf(both).some((p) => /not both/.test(p.message)));
  const neither = exampleProjectFile().replace(/ {4}mailStore:\n( {6}.*\n)+/, '');
  assert.ok(
    problemsOf(neither).some((p) => /needs its mail server/.test(p.message)),
    JSON.stringify(problemsOf(neither)),
  );
});
