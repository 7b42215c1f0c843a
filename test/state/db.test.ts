// The engine-neutral SQL surface (src/state/db.ts) on SQLite: transactions commit or roll
// back whole, nested ones are savepoints, and a statement from outside an open transaction
// waits for it instead of landing inside it.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStateStore } from '../../src/state/store.ts';

const fresh = () => openStateStore(join(mkdtempSync(join(tmpdir(), 'cf-db-')), 'state.db'));
const count = async (s: ReturnType<typeof fresh>): Promise<number> =>
  Number((await s.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM endpoint_check'))?.n);
const insert = (s: ReturnType<typeof fresh>, endpoint: string) =>
  s.sql.run("INSERT INTO endpoint_check (checked_at, organization, endpoint, ok, detail) VALUES ('t', 'a', ?, 1, '{}')", [endpoint]);

describe('state SQL surface (SQLite)', () => {
  it('commits a transaction whole and rolls a failed one back whole', async () => {
    const s = fresh();
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
    await s.sql.close();
  });

  it('makes a nested transaction a savepoint: its failure undoes only its own writes', async () => {
    const s = fresh();
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
    await s.sql.close();
  });

  it('keeps statements from outside an open transaction out of it', async () => {
    const s = fresh();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const failing = s.sql.tx(async () => {
      await insert(s, 'in-tx');
      await gate; // the transaction stays open across a real wait
      throw new Error('rolled back');
    });
    // Issued while the transaction is open: it must wait, and survive the rollback.
    const outside = insert(s, 'outside');
    const seen = s.sql.all<{ endpoint: string }>('SELECT endpoint FROM endpoint_check');
    setTimeout(release, 50);
    await assert.rejects(failing, /rolled back/);
    await outside;
    assert.deepEqual(
      (await seen).map((r) => r.endpoint),
      ['outside'],
      'the outside read ran after the rollback',
    );
    assert.equal(await count(s), 1);
    // Two transactions started together run one after the other.
    await Promise.all([s.sql.tx(async () => insert(s, 'a')), s.sql.tx(async () => insert(s, 'b'))]);
    assert.equal(await count(s), 3);
    await s.sql.close();
  });
});
