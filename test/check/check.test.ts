// `crossforest check` against the lab: every endpoint passes with the example project
// file; a wrong password and a closed port fail clearly, naming the endpoint, never the secret.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { checkEndpoints } from '../../src/check/endpoints.ts';
import { ensureLab } from '../helpers/lab.ts';
import { labProject } from '../helpers/project.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'crossforest.js');

test('every lab endpoint is reachable, authenticated and reports its TLS and software', async () => {
  const lab = await ensureLab();
  const project = labProject(lab.labDir);
  const rows = await checkEndpoints(project);
  assert.equal(rows.length, 6);
  for (const r of rows) assert.equal(r.ok, true, `${r.organization} ${r.endpoint}: ${r.error}`);
  const dirA = rows.find((r) => r.organization === 'a' && r.endpoint === 'directory');
  const dirB = rows.find((r) => r.organization === 'b' && r.endpoint === 'directory');
  assert.equal(dirA?.software, 'OpenLDAP');
  assert.equal(dirA?.tls, 'none');
  assert.match(dirB?.tls ?? '', /^ldaps TLSv1\.[23], trusted, expires in \d+ d$/);
  const mailA = rows.find((r) => r.organization === 'a' && r.endpoint === 'mailStore');
  const mailB = rows.find((r) => r.organization === 'b' && r.endpoint === 'mailStore');
  assert.equal(mailA?.authenticated, true);
  assert.match(mailA?.tls ?? '', /^STARTTLS TLSv1\.[23], trusted/);
  assert.match(mailB?.tls ?? '', /^implicit TLSv1\.[23], trusted/);
  assert.match(`${mailA?.software}`, /Dovecot/i);
  // The calendar servers: the service account logs in and its home is found (from it, every user's).
  const calB = rows.find((r) => r.organization === 'b' && r.endpoint === 'calendar');
  assert.equal(calB?.authenticated, true);
  assert.match(calB?.software ?? '', /as calmigrate, home http:\/\/127\.0\.0\.1:5232\/calmigrate\//);
});

test('a wrong directory password fails that endpoint only, and the password is never printed', async () => {
  const lab = await ensureLab();
  const project = labProject(lab.labDir, (t) => t.replace(`${lab.labDir}/secrets/forest-a-galsync.pw`, 'wrong.pw'));
  writeFileSync(join(project.dir, 'wrong.pw'), 'not-the-password-xyzzy\n');
  const rows = await checkEndpoints(project);
  const dirA = rows.find((r) => r.organization === 'a' && r.endpoint === 'directory');
  assert.equal(dirA?.ok, false);
  assert.equal(dirA?.reachable, true);
  assert.equal(dirA?.authenticated, false);
  assert.match(dirA?.error ?? '', /invalid credentials for ldap:\/\/127\.0\.0\.1:3891/);
  assert.match(dirA?.error ?? '', /bindDn/);
  assert.doesNotMatch(JSON.stringify(rows), /xyzzy/);
  assert.ok(
    rows.filter((r) => r.organization === 'b').every((r) => r.ok),
    'the other organization is unaffected',
  );

  const cli = await run(process.execPath, [CLI, '-c', project.path, 'check', '--json']).catch(
    (e) => e as { code: number; stdout: string; stderr: string },
  );
  assert.equal((cli as { code: number }).code, 1, 'exit code 1 when an endpoint fails');
  assert.doesNotMatch(`${cli.stdout}${cli.stderr}`, /xyzzy/);
  const parsed = JSON.parse(cli.stdout) as { ok: boolean }[];
  assert.equal(parsed.filter((r) => !r.ok).length, 1);
});

test('a closed port is reported unreachable with the address and the fix', async () => {
  const lab = await ensureLab();
  const project = labProject(lab.labDir, (t) =>
    t.replace('port: 1431', 'port: 1').replace('ldaps://127.0.0.1:6362', 'ldaps://127.0.0.1:2'),
  );
  const rows = await checkEndpoints(project);
  const mailA = rows.find((r) => r.organization === 'a' && r.endpoint === 'mailStore');
  const dirB = rows.find((r) => r.organization === 'b' && r.endpoint === 'directory');
  assert.equal(mailA?.reachable, false);
  assert.match(mailA?.error ?? '', /imap:\/\/127\.0\.0\.1:1 is unreachable \(ECONNREFUSED\)/);
  assert.equal(dirB?.reachable, false);
  assert.match(dirB?.error ?? '', /ldaps:\/\/127\.0\.0\.1:2 is unreachable \(ECONNREFUSED\)/);
  assert.match(dirB?.error ?? '', /lab up/);
});

test('a CA file that does not match makes TLS untrusted, named in the row', async () => {
  const lab = await ensureLab();
  const project = labProject(lab.labDir, (t) =>
    t.replace(/(\n {4}directory:\n {6}url: ldaps:\/\/127\.0\.0\.1:6362[\s\S]*?caFile: )\S+/, '$1/etc/ssl/certs/ca-certificates.crt'),
  );
  const rows = await checkEndpoints(project);
  const dirB = rows.find((r) => r.organization === 'b' && r.endpoint === 'directory');
  assert.equal(dirB?.ok, false);
  assert.match(dirB?.error ?? '', /TLS certificate of ldaps:\/\/127\.0\.0\.1:6362 does not verify/);
  assert.match(dirB?.error ?? '', /caFile/);
});
