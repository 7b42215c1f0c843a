// `crossforest serve` as a process: it listens with TLS on the configured port, answers,
// and stops cleanly on SIGTERM; without a coexistence section it refuses to start, saying why.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureLab } from '../helpers/lab.ts';
import { labProject } from '../helpers/project.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'crossforest.js');

function get(port: number, path: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('crossforest serve listens with TLS, answers, and exits 0 on SIGTERM', async () => {
  const lab = await ensureLab();
  const project = labProject(lab.labDir);
  const child = spawn(process.execPath, [CLI, '-c', project.path, 'serve', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    let stderr = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        const m = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
    });
    const ca = readFileSync(lab.tls.caCert);
    assert.deepEqual(await get(port, '/healthz', ca), { status: 200, body: '{"ok":true}' });
    const tb = await get(port, '/mail/config-v1.1.xml?emailaddress=jose.muller%40forest-a.test', ca);
    assert.equal(tb.status, 200);
    assert.match(tb.body, /<username>jmuller@forest-a\.test<\/username>/);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
});

test('crossforest serve without a coexistence section refuses to start and says what to add', async () => {
  const lab = await ensureLab();
  const project = labProject(lab.labDir, (t) => t.slice(0, t.indexOf('\ncoexistence:')));
  const child = spawn(process.execPath, [CLI, '-c', project.path, 'serve'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 1);
  assert.match(stderr, /has no coexistence section/);
  assert.match(stderr, /crossforest init --print/);
});
