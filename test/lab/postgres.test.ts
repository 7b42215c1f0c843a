// Live: the lab's PostgreSQL (Debian's postgresql 15, a cluster of the lab's own), the state
// engine for many worker hosts. It listens on loopback only, takes the crossforest role's
// password from the lab's secret file, refuses a wrong one, and `lab status` lists it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import type { LabInfo } from '../../lab/lab.ts';
import { POSTGRES_PORT } from '../../lab/postgres/postgres.ts';
import { ensureLab } from '../helpers/lab.ts';

let lab: LabInfo;
const password = (): string => readFileSync(lab.postgres!.secretFile, 'utf8').split('\n', 1)[0]!;
const client = (pw: string) =>
  new pg.Client({ host: '127.0.0.1', port: POSTGRES_PORT, user: 'crossforest', database: 'crossforest', password: pw });

describe('lab PostgreSQL (live)', () => {
  before(async () => {
    lab = await ensureLab();
  });

  it('is recorded in lab.json and answers the crossforest role over TCP with the secret', async () => {
    assert.ok(lab.postgres, 'lab.json has a postgres entry');
    assert.equal(lab.postgres.url, `postgres://crossforest@127.0.0.1:${POSTGRES_PORT}/crossforest`);
    assert.equal(lab.postgres.alive, true);
    assert.equal(statSync(lab.postgres.secretFile).mode & 0o077, 0, 'the password file is its owner’s only');
    const c = client(password());
    await c.connect();
    try {
      const r = await c.query<{ user: string; listen: string }>(
        "SELECT current_user AS user, current_setting('listen_addresses') AS listen",
      );
      assert.deepEqual(r.rows[0], { user: 'crossforest', listen: '127.0.0.1' });
    } finally {
      await c.end();
    }
  });

  it('refuses a wrong password with SQLSTATE 28P01', async () => {
    const c = client('not-the-password');
    c.on('error', () => undefined);
    await assert.rejects(c.connect(), (err: Error & { code?: string }) => err.code === '28P01');
  });

  it('is listed alive by `crossforest lab status --json`', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(process.cwd(), 'bin', 'crossforest.js'), 'lab', 'status', '--json'],
      {
        env: process.env,
      },
    );
    const status = JSON.parse(stdout) as LabInfo;
    assert.equal(status.postgres?.alive, true);
    assert.equal(status.postgres?.endpoints.postgres, `127.0.0.1:${POSTGRES_PORT}`);
  });
});
