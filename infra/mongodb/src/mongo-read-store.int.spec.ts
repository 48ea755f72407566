import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { Pipeline, ReadStore } from '@crm/core';
// By path, like the other adapters' specs: @crm/test depends on the adapters, a dependency back would be a cycle.
import { readStoreContract } from '../../../test/src/contracts/read-store.contract.ts';
import { DEALS } from '../../../test/src/contracts/read-store-fixtures.ts';
import { engineEnv, needs } from '../../../test/src/support/engines.ts';
import { scanBytes } from '../../../test/src/support/raw-scan.ts';
import { openMongoReadStore, type MongoReadStoreOptions } from './mongo-read-store.ts';

const url = engineEnv.mongoUrl ?? '';

describe('MongoDB read store', needs('ferretdb'), () => {
  /** Every database a test opened; dropped at the end, whatever happened. */
  const databases: string[] = [];
  const freshDatabase = () => {
    const name = `crm_rs_${randomBytes(6).toString('hex')}`;
    databases.push(name);
    return name;
  };
  const open = (options: Partial<MongoReadStoreOptions> = {}) => openMongoReadStore({ url, database: freshDatabase(), ...options });
  after(async () => {
    const client = new MongoClient(url);
    try {
      for (const name of databases) await client.db(name).dropDatabase();
    } finally {
      await client.close();
    }
  });

  readStoreContract('mongodb (FerretDB)', { open: async () => open() });

  async function withStore(store: ReadStore, use: (store: ReadStore) => Promise<void>): Promise<void> {
    try {
      await use(store);
    } finally {
      await store.close();
    }
  }

  it('upserts a batch of many chunks (a projector run) in order: the later of two documents with one _id wins across chunks', () =>
    withStore(open(), async (store) => {
      const documents = Array.from({ length: 450 }, (_, i) => ({ _id: `d${String(i).padStart(4, '0')}`, n: i }));
      // The same _id twice in one batch: the later one wins, across chunk boundaries too.
      await store.upsert('big_batch', [...documents, { _id: 'd0000', n: -1 }]);
      assert.equal(await store.count('big_batch'), 450);
      assert.equal((await store.get('big_batch', 'd0000'))?.n, -1);
      assert.equal((await store.get('big_batch', 'd0449'))?.n, 449);
    }));

  it('sends pipelines FerretDB 1.x computes right unchanged, and they agree with the split plan', () =>
    withStore(open({ aggregation: 'native' }), async (native) => {
      await native.upsert('deals', DEALS);
      const pipelines: Pipeline[] = [
        [{ $match: { stage: { $ne: 'lost' } } }, { $group: { _id: '$stage', total: { $sum: '$amount' } } }, { $sort: { total: -1 } }],
        [{ $group: { _id: '$owner.team', deals: { $sum: 1 } } }, { $match: { deals: { $gte: 2 } } }, { $sort: { _id: 1 } }],
        [{ $match: { currency: 'USD' } }, { $count: 'n' }],
      ];
      await withStore(open({ aggregation: 'ferretdb-1' }), async (split) => {
        await split.upsert('deals', DEALS);
        for (const pipeline of pipelines) {
          const result = await native.aggregate('deals', pipeline);
          assert.ok(result.length > 0, JSON.stringify(pipeline));
          assert.deepEqual(await split.aggregate('deals', pipeline), result, JSON.stringify(pipeline));
        }
      });
    }));

  it('FerretDB 1.x still needs the split plan: several accumulators in one native $group come out wrong', () =>
    withStore(open({ aggregation: 'native' }), async (native) => {
      await native.upsert('deals', DEALS);
      // If this starts passing natively, FerretDB fixed the bug and the split plan can go.
      const both = await native.aggregate('deals', [{ $group: { _id: null, total: { $sum: '$amount' }, deals: { $sum: 1 } } }]);
      assert.notDeepEqual(both, [{ _id: null, total: 7627.5, deals: 10 }]);
      await assert.rejects(native.aggregate('deals', [{ $group: { _id: null, average: { $avg: '$amount' } } }]), /not implemented/i);
    }));

  it('holds the written value in its raw files: FerretDB keeps <database>.sqlite and its -wal in the data dir', async () => {
    const dataDir = engineEnv.ferretdbDataDir;
    assert.ok(dataDir, 'CRM_FERRETDB_DATA_DIR is set');
    const database = freshDatabase();
    const store = openMongoReadStore({ url, database });
    const stage = `stage-marker-${randomUUID()}`;
    try {
      await store.upsert('deals', [{ _id: 'target', stage, amount: 1 }]);
      const files = [`${database}.sqlite`, `${database}.sqlite-wal`].map((f) => join(dataDir, f)).filter((f) => existsSync(f));
      assert.ok(files.length > 0, `FerretDB files for ${database} in ${dataDir}`);
      // Only this database's files: other suites create and drop theirs in the same folder meanwhile.
      const hits = files.flatMap((file) => scanBytes(file, readFileSync(file), [stage]));
      assert.ok(hits.length > 0, 'the marker is in the raw bytes of the database or its -wal');
    } finally {
      await store.close();
    }
  });
});
