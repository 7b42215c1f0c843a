// Operator passwords kept as scrypt hashes: the hash string (hostile ones too), logins over
// HTTP against a hashed secret (right, wrong, rate-limited even when the guesses arrive in
// parallel, the event loop free while a hash computes), a hash that cannot be used (at start
// and after a change) as a config error naming the key and the fix without the value, and
// `crossforest serve hash-password` (stdin, a terminal without echo, never an argument).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { LoginThrottle } from '../../src/coexistence/loginThrottle.ts';
import { buildServer } from '../../src/coexistence/server.ts';
import { ConfigError } from '../../src/util/errors.ts';
import { silentLogger } from '../../src/util/logger.ts';
import {
  formatPasswordHash,
  hashPassword,
  looksLikeHash,
  PasswordHashFormatError,
  parsePasswordHash,
  SCRYPT_DEFAULTS,
  verifyPassword,
} from '../../src/util/passwordHash.ts';
import { type DashboardFixture, dashboardProject, OPERATOR, OPERATOR_PASSWORD } from './dashboardFixture.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'crossforest.js');
const SALT = Buffer.alloc(16, 7).toString('base64').replace(/=+$/, '');
const KEY = Buffer.alloc(32, 9).toString('base64').replace(/=+$/, '');

/** A dashboard whose operator `ops` has a hashed secret (the other operator keeps a clear one). */
async function hashedDashboard(opts: { perUser?: number } = {}): Promise<DashboardFixture & { app: FastifyInstance }> {
  const fx = await dashboardProject(opts);
  writeFileSync(join(fx.dir, 'secrets', 'ops.pw'), `${await hashPassword(OPERATOR_PASSWORD)}\n`, { mode: 0o600 });
  const app = await buildServer(fx.project, { logger: silentLogger, state: fx.store });
  await app.ready();
  return { ...fx, app };
}

const login = (app: FastifyInstance, name: string, password: string) =>
  app.inject({ method: 'POST', url: '/dashboard/login', headers: { 'content-type': 'application/json' }, payload: { name, password } });

test('a hash is $scrypt$N=…,r=…,p=…$salt$hash, verifies its own password only, and keeps its parameters', async () => {
  const h = await hashPassword('correct horse');
  assert.match(h, /^\$scrypt\$N=131072,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.ok(looksLikeHash(h));
  const parsed = parsePasswordHash(h);
  assert.deepEqual([parsed.N, parsed.r, parsed.p], [SCRYPT_DEFAULTS.N, SCRYPT_DEFAULTS.r, SCRYPT_DEFAULTS.p]);
  assert.equal(formatPasswordHash(parsed), h);
  assert.equal(await verifyPassword('correct horse', parsed), true);
  assert.equal(await verifyPassword('correct horse ', parsed), false);
  assert.equal(await verifyPassword('', parsed), false);
  assert.notEqual(await hashPassword('correct horse'), h, 'a new salt every time');
  // Other parameters (cheaper, within bounds) verify by what the string says; a trailing space is harmless.
  const cheap = parsePasswordHash(`${formatPasswordHash({ ...parsed, N: 2 ** 14 })}  `);
  assert.equal(cheap.N, 2 ** 14);
  assert.equal(await verifyPassword('correct horse', cheap), false, 'the same key under other parameters is another hash');
});

test('hostile and broken hash strings are refused before any scrypt work, saying what is wrong and never echoing them', () => {
  const cases: [string, RegExp][] = [
    ['$scrypt$', /four parts/],
    [`$scrypt$N=131072,r=8,p=1$${SALT}`, /four parts/],
    [`$scrypt$N=131072,r=8,p=1$${SALT}$${KEY}$extra`, /four parts/],
    [`$scrypt$N=131072,r=8$${SALT}$${KEY}`, /N=<n>,r=<n>,p=<n>/],
    [`$scrypt$N=131072,r=8,p=1,p=2$${SALT}$${KEY}`, /N=<n>,r=<n>,p=<n>/],
    [`$scrypt$ln=17,r=8,p=1$${SALT}$${KEY}`, /N=<n>,r=<n>,p=<n>/],
    [`$scrypt$N=-1,r=8,p=1$${SALT}$${KEY}`, /N=<n>,r=<n>,p=<n>/],
    [`$scrypt$N=100000,r=8,p=1$${SALT}$${KEY}`, /not a power of two/],
    [`$scrypt$N=1073741824,r=8,p=1$${SALT}$${KEY}`, /not a power of two from/],
    [`$scrypt$N=1024,r=8,p=1$${SALT}$${KEY}`, /not a power of two from 2\^14/],
    [`$scrypt$N=1048576,r=8,p=1$${SALT}$${KEY}`, /needs over 512 MiB/],
    [`$scrypt$N=131072,r=99,p=1$${SALT}$${KEY}`, /r \(99\) is over/],
    [`$scrypt$N=131072,r=8,p=9999$${SALT}$${KEY}`, /p \(9999\) is over/],
    [`$scrypt$N=131072,r=8,p=1$${SALT}==$${KEY}`, /salt is not unpadded base64/],
    [`$scrypt$N=131072,r=8,p=1$not-base64!$${KEY}`, /salt is not unpadded base64/],
    [`$scrypt$N=131072,r=8,p=1$${SALT}$c2hvcnQ`, /hash is 5 bytes/],
    [`$scrypt$N=131072,r=8,p=1$${SALT}$${'A'.repeat(200)}`, /hash is 150 bytes/],
    [`$2b$12$${'a'.repeat(53)}`, /scheme is "2b", and only scrypt/],
    ['$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g', /scheme is "argon2id"/],
    ['scrypt$N=131072,r=8,p=1$x$y', /does not start with \$scrypt\$/],
  ];
  for (const [value, why] of cases) {
    assert.throws(
      () => parsePasswordHash(value),
      (err: unknown) => {
        assert.ok(err instanceof PasswordHashFormatError, value);
        assert.match(err.message, why, value);
        if (value.length > 12) assert.ok(!err.message.includes(value.slice(-12)), `${value}: the message echoes the value`);
        return true;
      },
    );
  }
  assert.equal(looksLikeHash('Dashboard-pw-7e1f!'), false, 'a clear password');
  assert.equal(looksLikeHash('$ecret$tuff'), true, 'taken as a hash (and refused): documented');
});

test('the throttle counts an attempt from its start: settled as a success or abandoned it is taken back', () => {
  const t = new LoginThrottle({ perIp: 3, perUser: 2, windowSeconds: 60 });
  const a = t.begin('ip1', 'ops');
  const b = t.begin('ip1', 'ops');
  assert.ok(t.retryAfter('ip1', 'ops') > 0, 'two attempts in flight reach perUser = 2');
  a.abandoned();
  assert.equal(t.retryAfter('ip1', 'ops'), 0);
  b.succeeded();
  b.succeeded(); // settling twice takes nothing more back
  t.begin('ip1', 'x'); // a wrong password: stays a failure
  t.begin('ip1', 'y');
  assert.equal(t.retryAfter('ip1', 'z'), 0, 'two failures of 3 per IP');
  t.begin('ip1', 'z');
  assert.ok(t.retryAfter('ip1', 'anyone') > 0, 'the IP reached its limit');
});

test('a hashed operator secret: the right password logs in, a wrong one is 401, unknown names too', async () => {
  const fx = await hashedDashboard({ perUser: 10 });
  try {
    const ok = await login(fx.app, OPERATOR, OPERATOR_PASSWORD);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json(), { operator: OPERATOR });
    assert.match(String(ok.headers['set-cookie']), /^__Host-crossforest-dashboard=/);
    const wrong = await login(fx.app, OPERATOR, `${OPERATOR_PASSWORD}x`);
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.headers['set-cookie'], undefined);
    assert.equal((await login(fx.app, OPERATOR, 'Other-operator-pw')).statusCode, 401, "another operator's password");
    assert.equal((await login(fx.app, 'nobody', OPERATOR_PASSWORD)).statusCode, 401);
    // The clear secret of the other operator still works (labs).
    assert.equal((await login(fx.app, 'other', 'Other-operator-pw')).statusCode, 200);
    // The hash string itself is not a password.
    const h = (await import('node:fs')).readFileSync(join(fx.dir, 'secrets', 'ops.pw'), 'utf8').trim();
    assert.equal((await login(fx.app, OPERATOR, h)).statusCode, 401);
  } finally {
    await fx.app.close();
    await fx.store.close();
  }
});

test('hash checks run off the event loop, and parallel wrong guesses are still held to the limit', async () => {
  const fx = await hashedDashboard({ perUser: 3 });
  try {
    // While a login's scrypt runs, the service answers other requests.
    let loginDone = false;
    const pending = login(fx.app, OPERATOR, 'a wrong guess').then((r) => {
      loginDone = true;
      return r;
    });
    const health = await fx.app.inject({ url: '/healthz' });
    assert.equal(health.statusCode, 200);
    assert.equal(loginDone, false, '/healthz answered while the hash was computing');
    assert.equal((await pending).statusCode, 401);
    // Ten guesses at once: with 1 failure so far and perUser 3, only 2 get a check; the rest wait.
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => login(fx.app, OPERATOR, `guess-${i}`)));
    const codes = burst.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [401, 401, 429, 429, 429, 429, 429, 429, 429, 429]);
    const limited = await login(fx.app, OPERATOR, OPERATOR_PASSWORD);
    assert.equal(limited.statusCode, 429, 'even the right password waits');
    assert.ok(Number(limited.headers['retry-after']) > 0);
  } finally {
    await fx.app.close();
    await fx.store.close();
  }
});

test('a hash that cannot be used stops the start: a config error naming the key and the fix, without the value', async () => {
  const bad = `$scrypt$N=131072,r=8,p=1$${SALT}$c2hvcnQ`;
  for (const value of [bad, `$2b$12$${'Q'.repeat(53)}`, '$scrypt$N=16384,r=8,p=1$']) {
    const fx = await dashboardProject();
    try {
      writeFileSync(join(fx.dir, 'secrets', 'ops.pw'), `${value}\n`);
      await assert.rejects(buildServer(fx.project, { logger: silentLogger, state: fx.store }), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.object, 'coexistence.dashboard.operators[0].password');
        assert.match(
          err.message,
          /^coexistence\.dashboard\.operators\[0\]\.password: the file secrets\/ops\.pw of operator ops holds a password hash that cannot be used: /,
        );
        assert.match(err.hint ?? '', /crossforest serve hash-password/);
        assert.ok(!`${err.message} ${err.hint}`.includes(value), 'the value is not repeated');
        return true;
      });
    } finally {
      await fx.store.close();
    }
  }
});

test('a hash broken after the start answers 503 naming the key (not the value); fixing the file fixes the login', async () => {
  const fx = await hashedDashboard({ perUser: 1 });
  try {
    const bad = `$scrypt$N=131072,r=8,p=1$${SALT}$c2hvcnQ`;
    writeFileSync(join(fx.dir, 'secrets', 'ops.pw'), `${bad}\n`);
    const r = await login(fx.app, OPERATOR, OPERATOR_PASSWORD);
    assert.equal(r.statusCode, 503);
    assert.equal(r.json().error, 'CF_ERR_CONFIG');
    assert.match(r.json().message, /coexistence\.dashboard\.operators\[0\]\.password/);
    assert.ok(!r.body.includes(bad) && !r.body.includes(OPERATOR_PASSWORD));
    writeFileSync(join(fx.dir, 'secrets', 'ops.pw'), `${await hashPassword(OPERATOR_PASSWORD)}\n`);
    assert.equal((await login(fx.app, OPERATOR, OPERATOR_PASSWORD)).statusCode, 200, 'the broken secret did not count as failures');
  } finally {
    await fx.app.close();
    await fx.store.close();
  }
});

function runCli(args: string[], input: string): { status: number | null; stdout: string; stderr: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'cf-hashpw-')); // no project file: hash-password needs none
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('crossforest serve hash-password reads the first line of stdin and prints a hash that logs in', async () => {
  const r = runCli(['serve', 'hash-password'], `${OPERATOR_PASSWORD}\r\nsecond line ignored\n`);
  assert.equal(r.status, 0, r.stderr);
  const line = r.stdout.trim();
  assert.ok(await verifyPassword(OPERATOR_PASSWORD, parsePasswordHash(line)));
  assert.ok(!r.stdout.includes(OPERATOR_PASSWORD) && !r.stderr.includes(OPERATOR_PASSWORD));
  const json = runCli(['--json', 'serve', 'hash-password'], 'pw-in-json\n');
  assert.equal(json.status, 0, json.stderr);
  assert.ok(await verifyPassword('pw-in-json', parsePasswordHash((JSON.parse(json.stdout) as { hash: string }).hash)));
  // Never from argv, and never an empty password.
  const argv = runCli(['serve', 'hash-password', 'Secret-on-argv'], '');
  assert.equal(argv.status, 1);
  assert.match(argv.stderr, /takes no arguments: a password on the command line lands in the shell history/);
  assert.ok(!argv.stderr.includes('Secret-on-argv'));
  assert.equal(argv.stdout, '');
  const empty = runCli(['serve', 'hash-password'], '\n');
  assert.equal(empty.status, 1);
  assert.match(empty.stderr, /no password given/);
  const long = runCli(['serve', 'hash-password'], `${'x'.repeat(1025)}\n`);
  assert.equal(long.status, 1);
  assert.match(long.stderr, /longer than 1024 characters/);
});

const haveScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

/** Runs the command on a pseudo-terminal (util-linux `script`), typing `keys` once the prompt shows. */
function onTerminal(keys: string[]): Promise<{ code: number | null; output: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'cf-hashpw-tty-'));
  const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} serve hash-password`;
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let typed = 0;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    output += d;
    // One answer per prompt shown.
    const prompts = output.split('Operator password').length - 1;
    while (typed < prompts && typed < keys.length) child.stdin.write(keys[typed++] as string);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

test('at a terminal, hash-password asks twice without echo; two different answers are refused', {
  skip: !haveScript && 'no util-linux script',
}, async () => {
  const ok = await onTerminal(['Typed-pw-1\r', 'Typed-pw-1\r']);
  assert.equal(ok.code, 0, ok.output);
  assert.match(ok.output, /Operator password: /);
  assert.match(ok.output, /Operator password again: /);
  assert.ok(!ok.output.includes('Typed-pw-1'), `the password was echoed: ${ok.output}`);
  const hash = /\$scrypt\$\S+/.exec(ok.output)?.[0] ?? '';
  assert.ok(await verifyPassword('Typed-pw-1', parsePasswordHash(hash)));
  const differ = await onTerminal(['Typed-pw-1\r', 'Typed-pw-2\r']);
  assert.equal(differ.code, 1);
  assert.match(differ.output, /the two passwords differ/);
  assert.doesNotMatch(differ.output, /\$scrypt\$/);
});
