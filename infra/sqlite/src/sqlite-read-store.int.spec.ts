import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseFilter, parseSort } from '@crm/read-query';
// By path, not by package: @crm/test depends on @crm/sqlite, and a dependency back would be a cycle.
import { readStoreContract } from '../../../test/src/contracts/read-store.contract.ts';
import { scanFiles } from '../../../test/src/support/raw-scan.ts';
import { filterSql } from './read-store-filter.ts';
import { orderBySql } from './read-store-keyset.ts';
import { tableName } from './read-store-schema.ts';
import { SqlParams } from './read-store-sql.ts';
import { openSqliteReadStore } from './sqlite-read-store.ts';

const root = mkdtempSync(join(tmpdir(), 'crm-sqlite-read-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
/** A folder of its own per store, so a scan sees only that store's files (db, -wal, -shm). */
const freshDir = () => mkdtempSync(join(root, 'store-'));

readStoreContract('sqlite', { open: async () => openSqliteReadStore({ path: join(freshDir(), 'read.db') }) });

describe('SQLite read store', () => {
  it('creates its folder and runs in WAL mode', async () => {
    const path = join(freshDir(), 'nested', 'read.db');
    const store = openSqliteReadStore({ path });
    await store.upsert('deals', [{ _id: 'd1' }]);
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
      await store.close();
    }
  });

  it('serves filters and sorts on indexed paths from the expression index', async () => {
    const path = join(freshDir(), 'read.db');
    const store = openSqliteReadStore({ path });
    try {
      await store.ensureIndexes('deals', [{ name: 'by_stage_amount', keys: [['stage', 1], ['amount', -1]] }]);
      await store.upsert('deals', Array.from({ length: 200 }, (_, i) => ({ _id: `d${i}`, stage: i % 2 ? 'won' : 'open', amount: i })));
      const db = new Database(path, { readonly: true });
      try {
        const params = new SqlParams();
        const where = filterSql(parseFilter({ stage: 'won', amount: { $gte: 100 } }), params, { idColumn: true });
        const orderBy = orderBySql(parseSort([['stage', 1], ['amount', -1]]), { idColumn: true });
        const plan = db
          .prepare(`EXPLAIN QUERY PLAN SELECT doc FROM ${tableName('deals')} WHERE ${where} ORDER BY ${orderBy}`)
          .all(params.values) as Array<{ detail: string }>;
        const details = plan.map((row) => row.detail).join('\n');
        assert.match(details, /USING INDEX "?doc:deals:by_stage_amount"?/, details);
      } finally {
        db.close();
      }
    } finally {
      await store.close();
    }
  });

  describe('raw bytes', () => {
    /** A clear, non-personal field value, unique to one test. */
    const marker = () => `stage-marker-${randomUUID()}`;

    async function storeHolding(stage: string) {
      const dir = freshDir();
      const store = openSqliteReadStore({ path: join(dir, 'read.db') });
      // An index on the field puts the value in an index page too; neighbours keep the pages alive after the delete.
      await store.ensureIndexes('deals', [{ name: 'by_stage', keys: [['stage', 1]] }]);
      await store.upsert('deals', Array.from({ length: 20 }, (_, i) => ({ _id: `n${i}`, stage: 'open', amount: i })));
      await store.upsert('deals', [{ _id: 'target', stage, amount: 1 }]);
      await store.upsert('other', [{ _id: 'o1', stage: 'won' }]);
      return { dir, store };
    }

    it('finds a written value in the store files, so a plaintext scan sees what the store writes', async () => {
      const stage = marker();
      const { dir, store } = await storeHolding(stage);
      try {
        const hits = scanFiles(dir, [stage]);
        assert.ok(hits.length > 0, 'the marker is in the raw bytes of the database or its -wal');
        assert.ok(hits.every((h) => /read\.db(-wal|-shm)?$/.test(h.where)));
      } finally {
        await store.close();
      }
    });

    it('after delete and drop, no file holds the value any more (secure_delete, WAL checkpoint)', async () => {
      const stage = marker();
      const { dir, store } = await storeHolding(stage);
      try {
        assert.ok(scanFiles(dir, [stage]).length > 0, 'marker on disk before the delete');
        await store.delete('deals', ['target']);
        assert.deepEqual(scanFiles(dir, [stage]), [], 'marker on disk after delete, store open');
        assert.equal(await store.count('deals'), 20, 'the neighbours are still there');
        await store.drop('deals');
        assert.deepEqual(scanFiles(dir, [stage]), [], 'marker on disk after drop, store open');
        assert.deepEqual(await store.get('other', 'o1'), { _id: 'o1', stage: 'won' });
      } finally {
        await store.close();
      }
      assert.deepEqual(scanFiles(dir, [stage]), [], 'marker on disk after close');
    });

    it('a drop alone (a rebuild switching collections) scrubs the old collection too', async () => {
      const stage = marker();
      const { dir, store } = await storeHolding(stage);
      try {
        await store.drop('deals');
        assert.deepEqual(scanFiles(dir, [stage]), [], 'marker on disk after drop');
      } finally {
        await store.close();
      }
    });

    it('a replaced value is scrubbed by the next delete', async () => {
      const stage = marker();
      const { dir, store } = await storeHolding(stage);
      try {
        await store.upsert('deals', [{ _id: 'target', stage: 'won', amount: 1 }]);
        await store.delete('deals', ['n0']);
        assert.deepEqual(scanFiles(dir, [stage]), [], 'marker on disk after replace + delete');
        assert.deepEqual(await store.get('deals', 'target'), { _id: 'target', stage: 'won', amount: 1 });
      } finally {
        await store.close();
      }
    });
  });
});
