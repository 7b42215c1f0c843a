// A fresh PostgreSQL database of the lab's cluster for one test (dropped afterwards), so
// tests on the PostgreSQL engine never see each other's state.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { POSTGRES_HOST, POSTGRES_PORT, POSTGRES_ROLE, postgresPaths, postgresUrl } from '../../lab/postgres/postgres.ts';
import { ensureLab } from './lab.ts';

export interface TestDatabase {
  url: string;
  password: string;
  drop(): Promise<void>;
}

export async function freshPostgres(): Promise<TestDatabase> {
  const info = await ensureLab();
  const password = readFileSync(postgresPaths(info.labDir).secret, 'utf8').split('\n', 1)[0]!;
  const name = `cf_test_${randomBytes(6).toString('hex')}`;
  const admin = () => new pg.Client({ host: POSTGRES_HOST, port: POSTGRES_PORT, user: POSTGRES_ROLE, database: 'postgres', password });
  const c = admin();
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return {
    url: postgresUrl(name),
    password,
    async drop() {
      const d = admin();
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}
