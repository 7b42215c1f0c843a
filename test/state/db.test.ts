// The engine-neutral SQL surface (src/state/db.ts), the same contract on both engines:
// transactions commit or roll back whole, nested ones are savepoints, and a statement from
// outside an open transaction does not land inside it. PostgreSQL runs on the lab's cluster,
// a fresh database per test.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { SqlDb } from '../../src/state/db.ts';
import { listMigrations, migrationsDir } from '../../src/state/migrate.ts';
import { numberPlaceholders, openPostgresDb } from '../../src/state/postgres.ts';
import { openStateStore } from '../../src/state/store.ts';
import { freshPostgres } from '../helpers/postgres.ts';

type Db = { sql: SqlDb };
const count = async (s: Db): Promise<number> => Number((await s.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM endpoint_check'))?.n);
const insert = (s: Db, endpoint: string) =>
  s.sql.run("INSERT INTO endpoint_check (checked_at, organization, endpoint, ok, detail) VALUES ('t', 'a', ?, 1, '{}')", [endpoint]);

contract('SQLite', async () => {
  const store = openStateStore(join(mkdtempSync(join(tmpdir(), 'cf-db-')), 'state.db'));
  return { sql: store.sql, done: () => store.sql.close() };
});

contract('PostgreSQL', async () => {
  const t = await freshPostgres();
  const sql = await openPostgresDb({ url: t.url, password: t.password });
  return {
    sql,
    done: async () => {
      await sql.close();
      await t.drop();
    },
  };
});

describe('PostgreSQL engine', () => {
  it('numbers placeholders outside quoted strings', () => {
    assert.equal(
      numberPlaceholders('SELECT a FROM t WHERE b = ? AND c = \'?\' AND "d?" = ?'),
      'SELECT a FROM t WHERE b = $1 AND c = \'?\' AND "d?" = $2',
    );
  });

  it('migrates a new database once, and two hosts opening it at once do not collide', async () => {
    const t = await freshPostgres();
    try {
      const [a, b] = await Promise.all([
        openPostgresDb({ url: t.url, password: t.password }),
        openPostgresDb({ url: t.url, password: t.password }),
      ]);
      const versions = await a.all<{ version: number }>('SELECT version FROM schema_migration ORDER BY version');
      assert.deepEqual(
        versions.map((v) => v.version),
        listMigrations(migrationsDir('postgres')).map((m) => m.version),
      );
      assert.equal(typeof versions[0]!.version, 'number');
      await Promise.all([a.close(), b.close()]);
    } finally {
      await t.drop();
    }
  });

  it('refuses a wrong password and an unreachable server with the fix, never the password', async () => {
    const t = await freshPostgres();
    try {
      await assert.rejects(openPostgresDb({ url: t.url, password: 'wrong-secret' }), (err: Error & { code?: string; hint?: string }) => {
        assert.equal(err.code, 'CF_ERR_STATE');
        assert.match(err.message, /password authentication failed/);
        assert.match(String(err.hint), /password file/);
        assert.ok(!err.message.includes('wrong-secret'));
        return true;
      });
      await assert.rejects(
        openPostgresDb({ url: 'postgres://crossforest:hunter2@127.0.0.1:1/x', password: 'p' }),
        (err: Error & { hint?: string }) => {
          assert.match(String(err.hint), /start PostgreSQL/);
          assert.ok(!err.message.includes('hunter2'), err.message);
          return true;
        },
      );
    } finally {
      await t.drop();
    }
  });

  it('refuses a database written by a newer crossforest', async () => {
    const t = await freshPostgres();
    try {
      const db = await openPostgresDb({ url: t.url, password: t.password });
      await db.run("INSERT INTO schema_migration (version, name, applied_at) VALUES (999, '999_future', 'x')");
      await db.close();
      await assert.rejects(openPostgresDb({ url: t.url, password: t.password }), /migrations this crossforest does not know \(999\)/);
    } finally {
      await t.drop();
    }
  });
});

function contract(engine: string, open: () => Promise<{ sql: SqlDb; done: () => Promise<void> }>): void {
  describe(`state SQL surface (${engine})`, () => {
    it('commits a transaction whole and rolls a failed one back whole', async () => {
      const { sql, done } = await open();
      const s = { sql };
      await s.sql.tx(async () => {
        await insert(s, 'one');
        await insert(s, 'two');
      });
      await assert.rejects(
        s.sql.tx(async () => {
          await insert(s, 'three');
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await count(s), 2);
      await done();
    });

    it('makes a nested transaction a savepoint: its failure undoes only its own writes', async () => {
      const { sql, done } = await open();
      const s = { sql };
      await s.sql.tx(async () => {
        await insert(s, 'outer');
        await s.sql.tx(async () => insert(s, 'inner-kept'));
        await s.sql
          .tx(async () => {
            await insert(s, 'inner-undone');
            throw new Error('inner');
          })
          .catch(() => undefined);
      });
      const rows = await s.sql.all<{ endpoint: string }>('SELECT endpoint FROM endpoint_check ORDER BY id');
      assert.deepEqual(
        rows.map((r) => r.endpoint),
        ['outer', 'inner-kept'],
      );
      await done();
    });

    it('keeps statements from outside an open transaction out of it', async () => {
      const { sql, done } = await open();
      const s = { sql };
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const failing = s.sql.tx(async () => {
        await insert(s, 'in-tx');
        await gate; // the transaction stays open across a real wait
        throw new Error('rolled back');
      });
      // Issued while the transaction is open: not part of it (SQLite: it waits for it;
      // PostgreSQL: another connection), so it survives the rollback, and a read from
      // outside never sees the transaction's uncommitted row.
      const outside = insert(s, 'outside');
      setTimeout(release, 50);
      await outside;
      const seen = await s.sql.all<{ endpoint: string }>('SELECT endpoint FROM endpoint_check');
      await assert.rejects(failing, /rolled back/);
      assert.deepEqual(
        seen.map((r) => r.endpoint),
        ['outside'],
      );
      assert.equal(await count(s), 1);
      // Two transactions started together run one after the other.
      await Promise.all([s.sql.tx(async () => insert(s, 'a')), s.sql.tx(async () => insert(s, 'b'))]);
      assert.equal(await count(s), 3);
      await done();
    });
  });
}
