/**
 * The behaviour every ReadStore adapter must show: the embedded SQLite store and MongoDB
 * (FerretDB locally) pass these tests unchanged. The suite asserts only what MongoDB and the
 * embedded store agree on (see the comments in the adapters for where they differ: arrays,
 * cross-type ordering, missing fields in unique indexes).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationFailed, type Document, type Filter, type Pipeline, type ReadStore, type Sort } from '@crm/core';
import { ALL_IDS, DEALS, compareBy, sortedIds } from './read-store-fixtures.ts';

export interface ReadStoreHarness {
  /** A new, empty store sharing nothing with stores opened before. The suite closes every store it opens. */
  open(): Promise<ReadStore>;
}

const ids = (documents: readonly Document[]) => documents.map((d) => d._id);

/** Every document of a query, page by page. */
async function walk(store: ReadStore, collection: string, sort: Sort | undefined, limit: number, filter?: Filter): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const result = await store.find(collection, { filter, sort, limit, cursor });
    assert.ok(result.documents.length <= limit, 'a page holds at most limit documents');
    seen.push(...ids(result.documents));
    if (!result.nextCursor) return seen;
    cursor = result.nextCursor;
  }
  throw new Error('the walk did not end');
}

/** Refused with ValidationFailed whose message names the offending operator, path or stage. */
function refusedNaming(token: string) {
  return (error: unknown) => {
    assert.ok(error instanceof ValidationFailed, `expected ValidationFailed, got ${String(error)}`);
    assert.ok(error.message.includes(token), `the error names ${token}: ${error.message}`);
    return true;
  };
}

export function readStoreContract(name: string, harness: ReadStoreHarness): void {
  async function withStore(use: (store: ReadStore) => Promise<void>): Promise<void> {
    const store = await harness.open();
    try {
      await use(store);
    } finally {
      await store.close();
    }
  }

  /** One store seeded with DEALS, shared by the read-only tests of a block. */
  function seeded(): () => ReadStore {
    let store: ReadStore | undefined;
    before(async () => {
      store = await harness.open();
      await store.upsert('deals', DEALS);
    });
    after(() => store?.close());
    return () => {
      assert.ok(store, 'store opened');
      return store;
    };
  }

  describe(`ReadStore contract: ${name}`, { timeout: 120_000 }, () => {
    describe('documents', () => {
      it('gets back what it upserted, nested values and all', () =>
        withStore(async (store) => {
          const doc = {
            _id: 'case-1',
            title: 'Grüße, 東京 🚀',
            amount: 12.5,
            count: 3,
            open: true,
            closedAt: null,
            empty: '',
            tags: ['a', 'b'],
            owner: { team: 'north', level: { tier: 2 } },
          };
          await store.upsert('cases', [doc, { _id: 'case-2', title: 'other' }]);
          assert.deepEqual(await store.get('cases', 'case-1'), doc);
          assert.deepEqual(await store.get('cases', 'case-2'), { _id: 'case-2', title: 'other' });
          assert.equal(await store.get('cases', 'case-3'), undefined);
          assert.equal(await store.get('nothing', 'case-1'), undefined);
        }));

      it('replaces a document as a whole: fields left out are gone, not merged', () =>
        withStore(async (store) => {
          await store.upsert('cases', [{ _id: 'c', status: 'open', priority: 2, owner: { team: 'north' } }]);
          await store.upsert('cases', [{ _id: 'c', status: 'closed', owner: { region: 'eu' } }]);
          assert.deepEqual(await store.get('cases', 'c'), { _id: 'c', status: 'closed', owner: { region: 'eu' } });
          assert.equal(await store.count('cases'), 1);
        }));

      it('applies a batch in order: the last of two documents with one _id wins', () =>
        withStore(async (store) => {
          await store.upsert('cases', [{ _id: 'c', v: 1 }, { _id: 'd', v: 1 }, { _id: 'c', v: 2 }]);
          assert.deepEqual(await store.get('cases', 'c'), { _id: 'c', v: 2 });
          assert.equal(await store.count('cases'), 2);
        }));

      it('keeps documents as JSON: a Date becomes its ISO string, undefined fields are dropped', () =>
        withStore(async (store) => {
          await store.upsert('cases', [{ _id: 'c', at: new Date('2025-04-05T06:07:08.000Z'), gone: undefined }]);
          assert.deepEqual(await store.get('cases', 'c'), { _id: 'c', at: '2025-04-05T06:07:08.000Z' });
        }));

      it('deletes by _id, ignoring ids that do not exist', () =>
        withStore(async (store) => {
          await store.upsert('deals', DEALS);
          await store.delete('deals', ['d02', 'nope', 'd05']);
          assert.equal(await store.get('deals', 'd02'), undefined);
          assert.equal(await store.get('deals', 'd05'), undefined);
          assert.deepEqual(await store.get('deals', 'd01'), DEALS[0]);
          assert.equal(await store.count('deals'), DEALS.length - 2);
          await store.delete('deals', []);
          await store.delete('nothing', ['d01']);
          await store.upsert('deals', []);
          assert.equal(await store.count('deals'), DEALS.length - 2);
        }));

      it('refuses a document without a string _id', () =>
        withStore(async (store) => {
          await assert.rejects(store.upsert('cases', [{ title: 'x' } as unknown as Document]), refusedNaming('_id'));
          await assert.rejects(store.upsert('cases', [{ _id: 7 } as unknown as Document]), refusedNaming('_id'));
          await assert.rejects(store.upsert('cases', [{ _id: '' }]), refusedNaming('_id'));
          assert.equal(await store.count('cases'), 0);
        }));
    });

    describe('filters', () => {
      const store = seeded();

      /** Each case must select a proper, non-empty subset: a store that ignored the operator would fail it. */
      const cases: Array<[string, Filter, string[]]> = [
        ['implicit equality', { stage: 'won' }, ['d01', 'd02', 'd06', 'd10']],
        ['$eq on a number', { amount: { $eq: 1000 } }, ['d04', 'd06']],
        ['$ne, which also matches a missing field', { stage: { $ne: 'won' } }, ['d03', 'd04', 'd05', 'd07', 'd08', 'd09']],
        ['$gt', { amount: { $gt: 1000 } }, ['d02', 'd08']],
        ['$gte', { amount: { $gte: 1000 } }, ['d02', 'd04', 'd06', 'd08']],
        ['$lt', { amount: { $lt: 500 } }, ['d03', 'd07', 'd09']],
        ['$lte', { amount: { $lte: 500 } }, ['d01', 'd03', 'd07', 'd09']],
        ['$gte on ISO date strings', { closedAt: { $gte: '2025-02-01T00:00:00.000Z' } }, ['d02', 'd06', 'd10']],
        ['$lt on ISO date strings (null never compares)', { closedAt: { $lt: '2025-02-01T00:00:00.000Z' } }, ['d01', 'd07']],
        ['$in on strings', { stage: { $in: ['lost', 'open'] } }, ['d03', 'd04', 'd05', 'd07', 'd08']],
        ['$in on numbers', { amount: { $in: [0, 1000, 42] } }, ['d04', 'd06', 'd07']],
        ['$nin, which also matches a missing field', { stage: { $nin: ['won', 'open'] } }, ['d03', 'd07', 'd09']],
        ['$exists: true counts null as present', { closedAt: { $exists: true } }, ['d01', 'd02', 'd03', 'd06', 'd07', 'd10']],
        ['$exists: false', { closedAt: { $exists: false } }, ['d04', 'd05', 'd08', 'd09']],
        ['equality with null matches null and missing', { closedAt: null }, ['d03', 'd04', 'd05', 'd08', 'd09']],
        ['$ne: null', { closedAt: { $ne: null } }, ['d01', 'd02', 'd06', 'd07', 'd10']],
        ['a boolean', { flagged: true }, ['d01', 'd05', 'd10']],
        ['false is not missing', { flagged: false }, ['d02', 'd03', 'd07']],
        ['$ne on a boolean', { flagged: { $ne: true } }, ['d02', 'd03', 'd04', 'd06', 'd07', 'd08', 'd09']],
        ['$in with null', { flagged: { $in: [null, true] } }, ['d01', 'd04', 'd05', 'd06', 'd08', 'd09', 'd10']],
        ['$and', { $and: [{ stage: 'won' }, { amount: { $gte: 1000 } }] }, ['d02', 'd06']],
        ['$or', { $or: [{ stage: 'lost' }, { amount: { $gt: 2000 } }] }, ['d03', 'd07', 'd08']],
        [
          '$or inside $and',
          { $and: [{ currency: 'EUR' }, { $or: [{ 'owner.team': 'east' }, { flagged: true }] }] },
          ['d01', 'd04', 'd10'],
        ],
        ['several paths, implicitly and-ed', { currency: 'USD', stage: 'open' }, ['d05', 'd08']],
        ['two operators on one path', { amount: { $gt: 250, $lt: 1500 } }, ['d01', 'd04', 'd05', 'd06']],
        ['a dotted path', { 'owner.team': 'north' }, ['d01', 'd03', 'd06']],
        ['a range on a dotted path', { 'owner.level': { $gte: 2 } }, ['d01', 'd03', 'd05', 'd08', 'd10']],
        ['a dotted path through a missing object is missing', { 'owner.level': null }, ['d07', 'd09']],
        ['_id with $in', { _id: { $in: ['d02', 'd07', 'zz'] } }, ['d02', 'd07']],
        ['_id with $gt', { _id: { $gt: 'd08' } }, ['d09', 'd10']],
      ];

      for (const [title, filter, expected] of cases) {
        it(`${title}: ${JSON.stringify(filter)}`, async () => {
          assert.ok(expected.length > 0 && expected.length < DEALS.length, 'the case selects a proper subset');
          const found = await store().find('deals', { filter, sort: [['_id', 1]], limit: 100 });
          assert.deepEqual(ids(found.documents), expected);
          assert.equal(found.nextCursor, undefined);
          assert.equal(await store().count('deals', filter), expected.length);
        });
      }

      it('compares only values of the operand type (a number never matches a string, nor 1 true)', async () => {
        const typeMismatches: Filter[] = [
          { amount: { $gt: '0' } },
          { stage: { $gte: 0 } },
          { flagged: 1 },
          { flagged: { $in: [1, 0] } },
          { amount: { $in: ['1000'] } },
          // An object is not the string of its JSON text.
          { owner: '{"team":"west"}' },
          { owner: { $in: ['{"team":"west"}'] } },
          { owner: { $gte: '{' } },
        ];
        for (const filter of typeMismatches) {
          assert.deepEqual(ids((await store().find('deals', { filter })).documents), [], JSON.stringify(filter));
        }
      });

      it('an empty filter matches everything', async () => {
        assert.deepEqual(ids((await store().find('deals', { filter: {}, limit: 100 })).documents), ALL_IDS);
        assert.equal(await store().count('deals'), DEALS.length);
        assert.equal(await store().count('deals', {}), DEALS.length);
        assert.equal(await store().count('nothing'), 0);
      });
    });

    describe('sort, limit and cursors', () => {
      const store = seeded();
      const sorts: Sort[] = [
        [],
        [['amount', 1]],
        [['amount', -1]],
        [['stage', 1], ['amount', -1]],
        [['owner.team', -1], ['closedAt', 1]],
        // Five documents share null/missing at the end: pages end inside that run.
        [['closedAt', -1]],
        [['flagged', -1], ['amount', 1]],
        [['_id', -1]],
      ];

      for (const sort of sorts) {
        it(`sorts by ${JSON.stringify(sort)}, nulls and missing lowest, ties by _id ascending`, async () => {
          const { documents } = await store().find('deals', { sort, limit: 100 });
          assert.deepEqual(ids(documents), sortedIds(DEALS, sort));
        });
      }

      it('spells out one order by hand, so the reference comparator is checked too', async () => {
        const { documents } = await store().find('deals', { sort: [['amount', -1]], limit: 100 });
        assert.deepEqual(ids(documents), ['d08', 'd02', 'd04', 'd06', 'd05', 'd01', 'd03', 'd09', 'd07', 'd10']);
      });

      it('limits a page and says whether more may follow', async () => {
        const first = await store().find('deals', { sort: [['amount', 1]], limit: 3 });
        assert.deepEqual(ids(first.documents), ['d10', 'd07', 'd09']);
        assert.equal(typeof first.nextCursor, 'string');
        const exact = await store().find('deals', { limit: DEALS.length });
        assert.equal(exact.documents.length, DEALS.length);
        assert.equal(exact.nextCursor, undefined, 'no cursor when the page holds the rest');
      });

      for (const sort of sorts) {
        for (const limit of [1, 3, 4]) {
          it(`walks every document once, in order, ${limit} per page, sorted by ${JSON.stringify(sort)}`, async () => {
            assert.deepEqual(await walk(store(), 'deals', sort, limit), sortedIds(DEALS, sort));
          });
        }
      }

      it('walks a filtered query with its filter on every page', async () => {
        const filter = { stage: { $ne: 'lost' } };
        const expected = sortedIds(DEALS.filter((d) => d.stage !== 'lost'), [['amount', -1]]);
        assert.deepEqual(await walk(store(), 'deals', [['amount', -1]], 2, filter), expected);
      });

      it('refuses a cursor with another filter, sort or collection, and a forged one', async () => {
        const { nextCursor } = await store().find('deals', { sort: [['amount', 1]], limit: 2 });
        assert.ok(nextCursor);
        await assert.rejects(store().find('deals', { sort: [['amount', -1]], limit: 2, cursor: nextCursor }), refusedNaming('cursor'));
        await assert.rejects(store().find('deals', { filter: { stage: 'won' }, sort: [['amount', 1]], cursor: nextCursor }), refusedNaming('cursor'));
        await assert.rejects(store().find('other', { sort: [['amount', 1]], cursor: nextCursor }), refusedNaming('cursor'));
        for (const forged of ['not a cursor!', Buffer.from('{"v":1}').toString('base64url'), `${nextCursor}x`]) {
          await assert.rejects(store().find('deals', { sort: [['amount', 1]], cursor: forged }), refusedNaming('cursor'));
        }
      });
    });

    describe('pagination under writes', () => {
      for (const sort of [[['amount', -1]], [['stage', 1], ['amount', -1]]] as Sort[]) {
        it(`stays exact while documents are inserted and deleted between pages (${JSON.stringify(sort)})`, () =>
          withStore(async (store) => {
            await store.upsert('deals', DEALS);
            const compare = compareBy(sort);
            const live = new Map(DEALS.map((d) => [d._id, d]));
            const mustSee = new Set(ALL_IDS);
            const mustNotSee = new Set<string>();
            const used = new Set(ALL_IDS);
            const seen: string[] = [];
            let cursor: string | undefined;
            let round = 0;
            do {
              assert.ok(round < 40, 'the walk ends');
              const page = await store.find('deals', { sort, limit: 3, cursor });
              seen.push(...ids(page.documents));
              cursor = page.nextCursor;
              const last = page.documents[page.documents.length - 1];
              if (!cursor || !last) break;
              // Candidates on both sides of the cursor, including ties on every sort key.
              const candidates: Document[] = [
                { _id: `n${round}a`, stage: 'open', amount: 5000 + round, currency: 'EUR' },
                { _id: `n${round}b`, stage: 'lost', amount: 100 + round, currency: 'EUR' },
                { ...last, _id: `${last._id}-after` },
                { ...last, _id: last._id.slice(0, -1) },
                { _id: `n${round}c`, currency: 'EUR' },
              ];
              // Fresh ids only: each document is either ahead of the cursor when written or behind it.
              const inserted = candidates.filter((d) => !used.has(d._id));
              for (const d of inserted) used.add(d._id);
              await store.upsert('deals', inserted);
              for (const doc of inserted) {
                live.set(doc._id, doc);
                (compare(doc, last) > 0 ? mustSee : mustNotSee).add(doc._id);
              }
              // And one document ahead of the cursor goes away.
              const ahead = [...live.values()].filter((d) => compare(d, last) > 0 && mustSee.has(d._id)).sort(compare).at(-1);
              if (ahead) {
                await store.delete('deals', [ahead._id]);
                live.delete(ahead._id);
                mustSee.delete(ahead._id);
                mustNotSee.add(ahead._id);
              }
              round++;
            } while (cursor);

            assert.ok(round >= 2, 'the walk crossed several pages');
            assert.equal(new Set(seen).size, seen.length, 'no document twice');
            const expected = [...live.values()].filter((d) => mustSee.has(d._id)).sort(compare).map((d) => d._id);
            assert.deepEqual(seen, expected, 'every document ahead of the cursor, in order; none behind it');
            for (const id of mustNotSee) assert.ok(!seen.includes(id), `${id} was behind the cursor or deleted`);
          }));
      }
    });

    describe('page size', () => {
      it('defaults to 50 and caps at 1000', () =>
        withStore(async (store) => {
          const many = Array.from({ length: 1005 }, (_, i) => ({ _id: `m${String(i).padStart(4, '0')}`, n: i }));
          await store.upsert('many', many);
          const byDefault = await store.find('many');
          assert.equal(byDefault.documents.length, 50);
          assert.ok(byDefault.nextCursor);
          const capped = await store.find('many', { limit: 5000 });
          assert.equal(capped.documents.length, 1000);
          assert.ok(capped.nextCursor);
          const rest = await store.find('many', { limit: 5000, cursor: capped.nextCursor });
          assert.deepEqual(ids(rest.documents), ['m1000', 'm1001', 'm1002', 'm1003', 'm1004']);
          assert.equal(rest.nextCursor, undefined);
        }));
    });

    describe('aggregate', () => {
      const store = seeded();
      const aggregate = (pipeline: Pipeline) => store().aggregate('deals', pipeline);

      it('$match, then $group by a field with $sum of a field, $sum: 1 and $avg, then $sort', async () => {
        assert.deepEqual(
          await aggregate([
            { $match: { stage: { $ne: 'lost' } } },
            { $group: { _id: '$stage', total: { $sum: '$amount' }, deals: { $sum: 1 }, average: { $avg: '$amount' } } },
            { $sort: { total: -1 } },
          ]),
          [
            { _id: 'open', total: 4249.5, deals: 3, average: 1416.5 },
            { _id: 'won', total: 3000, deals: 4, average: 1000 },
            { _id: null, total: 128, deals: 1, average: 128 },
          ],
        );
      });

      it('$group by null: one group over everything; $avg skips missing values', async () => {
        assert.deepEqual(
          await aggregate([{ $group: { _id: null, total: { $sum: '$amount' }, deals: { $sum: 1 }, average: { $avg: '$amount' } } }]),
          [{ _id: null, total: 7627.5, deals: 10, average: 847.5 }],
        );
      });

      it('$group by a dotted path: missing values form the null group', async () => {
        assert.deepEqual(await aggregate([{ $group: { _id: '$owner.team', deals: { $sum: 1 } } }, { $sort: { _id: 1 } }]), [
          { _id: null, deals: 1 },
          { _id: 'east', deals: 2 },
          { _id: 'north', deals: 3 },
          { _id: 'south', deals: 3 },
          { _id: 'west', deals: 1 },
        ]);
      });

      it('null and missing group keys fall in one group, keyed null', async () => {
        assert.deepEqual(await aggregate([{ $group: { _id: '$closedAt', deals: { $sum: 1 } } }, { $match: { _id: null } }]), [
          { _id: null, deals: 5 },
        ]);
      });

      it('$match after a $group with several accumulators filters on any of them', async () => {
        assert.deepEqual(
          await aggregate([
            { $group: { _id: '$stage', deals: { $sum: 1 }, average: { $avg: '$amount' } } },
            { $match: { average: { $gte: 1000 } } },
            { $sort: { _id: 1 } },
          ]),
          [
            { _id: 'open', deals: 3, average: 1416.5 },
            { _id: 'won', deals: 4, average: 1000 },
          ],
        );
      });

      it('$sum and $avg skip values that are not numbers: strings, booleans, null, missing', async () => {
        await store().upsert('mixed', [
          { _id: 'm1', v: 10 },
          { _id: 'm2', v: '20' },
          { _id: 'm3', v: true },
          { _id: 'm4', v: null },
          { _id: 'm5', v: 30 },
          { _id: 'm6' },
        ]);
        assert.deepEqual(
          await store().aggregate('mixed', [{ $group: { _id: null, total: { $sum: '$v' }, average: { $avg: '$v' }, n: { $sum: 1 } } }]),
          [{ _id: null, total: 40, average: 20, n: 6 }],
        );
      });

      it('$avg of no numbers is null, $sum of none is 0, $sum of a constant counts with that weight', async () => {
        assert.deepEqual(
          await aggregate([{ $match: { _id: 'd10' } }, { $group: { _id: '$stage', average: { $avg: '$amount' }, total: { $sum: '$amount' } } }]),
          [{ _id: 'won', average: null, total: 0 }],
        );
        assert.deepEqual(await aggregate([{ $match: { currency: 'USD' } }, { $group: { _id: null, weighted: { $sum: 2 } } }]), [
          { _id: null, weighted: 6 },
        ]);
      });

      it('$match after $group filters the groups', async () => {
        assert.deepEqual(
          await aggregate([{ $group: { _id: '$stage', deals: { $sum: 1 } } }, { $match: { deals: { $gte: 3 } } }, { $sort: { _id: -1 } }]),
          [
            { _id: 'won', deals: 4 },
            { _id: 'open', deals: 3 },
          ],
        );
      });

      it('$count, and $count of nothing yields no document', async () => {
        assert.deepEqual(await aggregate([{ $match: { stage: 'won' } }, { $count: 'won' }]), [{ won: 4 }]);
        assert.deepEqual(await aggregate([{ $match: { stage: 'nope' } }, { $count: 'n' }]), []);
        assert.deepEqual(await aggregate([{ $group: { _id: '$currency', n: { $sum: 1 } } }, { $count: 'currencies' }]), [{ currencies: 2 }]);
        assert.deepEqual(await aggregate([{ $match: { stage: 'nope' } }, { $group: { _id: null, n: { $sum: 1 } } }]), []);
      });

      it('$sort then $match keeps the order; a bare $match returns whole documents', async () => {
        const sorted = await aggregate([{ $sort: { amount: -1 } }, { $match: { currency: 'USD' } }]);
        assert.deepEqual(sorted, [DEALS[7], DEALS[4], DEALS[2]]);
      });

      it('over a collection that does not exist yields nothing', async () => {
        assert.deepEqual(await store().aggregate('nothing', [{ $group: { _id: null, n: { $sum: 1 } } }]), []);
      });
    });

    describe('indexes', () => {
      it('ensureIndexes is idempotent and queries still answer the same', () =>
        withStore(async (store) => {
          const indexes = [
            { name: 'by_stage_amount', keys: [['stage', 1], ['amount', -1]] as Array<[string, 1 | -1]> },
            { name: 'by_team', keys: [['owner.team', 1]] as Array<[string, 1 | -1]> },
          ];
          await store.ensureIndexes('deals', indexes);
          await store.upsert('deals', DEALS);
          await store.ensureIndexes('deals', indexes);
          await store.ensureIndexes('deals', [...indexes].reverse());
          const { documents } = await store.find('deals', { filter: { stage: 'won' }, sort: [['amount', -1]] });
          assert.deepEqual(ids(documents), ['d02', 'd06', 'd01', 'd10']);
          assert.equal(await store.count('deals', { 'owner.team': 'north' }), 3);
        }));

      it('a unique index refuses a duplicate and keeps the document it protects', () =>
        withStore(async (store) => {
          await store.ensureIndexes('people', [{ name: 'by_email_hmac', keys: [['emailHmac', 1]], unique: true }]);
          await store.upsert('people', [{ _id: 'p1', emailHmac: 'h-1' }, { _id: 'p2', emailHmac: 'h-2' }]);
          await assert.rejects(store.upsert('people', [{ _id: 'p3', emailHmac: 'h-1' }]), (error: unknown) => {
            assert.ok(error instanceof Error && /unique index by_email_hmac/.test(error.message), String(error));
            assert.ok(!error.message.includes('h-1'), 'the error does not echo the value');
            return true;
          });
          assert.equal(await store.get('people', 'p3'), undefined);
          assert.deepEqual(await store.get('people', 'p1'), { _id: 'p1', emailHmac: 'h-1' });
          // Replacing the holder itself is no duplicate; once it moves on, the value is free.
          await store.upsert('people', [{ _id: 'p1', emailHmac: 'h-1', name: 'sealed' }]);
          await store.upsert('people', [{ _id: 'p1', emailHmac: 'h-9' }]);
          await store.upsert('people', [{ _id: 'p3', emailHmac: 'h-1' }]);
          assert.equal(await store.count('people'), 3);
        }));

      it('refuses to redefine an existing index under the same name', () =>
        withStore(async (store) => {
          await store.ensureIndexes('people', [{ name: 'by_email_hmac', keys: [['emailHmac', 1]], unique: true }]);
          await assert.rejects(
            store.ensureIndexes('people', [{ name: 'by_email_hmac', keys: [['phoneHmac', 1]] }]),
            /another definition/,
          );
        }));
    });

    describe('collections', () => {
      it('lists collections, drops one with its documents and indexes, and tolerates dropping what is not there', () =>
        withStore(async (store) => {
          assert.deepEqual(await store.collections(), []);
          await store.upsert('deals', DEALS);
          await store.upsert('cases', [{ _id: 'c1' }]);
          await store.ensureIndexes('people', [{ name: 'by_code', keys: [['code', 1]], unique: true }]);
          await store.upsert('people', [{ _id: 'p1', code: 'x' }]);
          assert.deepEqual((await store.collections()).sort(), ['cases', 'deals', 'people']);

          await store.drop('deals');
          await store.drop('people');
          assert.deepEqual(await store.collections(), ['cases']);
          assert.equal(await store.count('deals'), 0);
          assert.equal(await store.get('deals', 'd01'), undefined);
          assert.deepEqual((await store.find('deals')).documents, []);
          await store.drop('deals');
          await store.drop('never');

          // The unique index went with the collection.
          await store.upsert('people', [{ _id: 'p1', code: 'x' }, { _id: 'p2', code: 'x' }]);
          assert.equal(await store.count('people'), 2);
          assert.deepEqual(await store.get('cases', 'c1'), { _id: 'c1' });
        }));
    });

    describe('refusals', () => {
      const store = seeded();
      const refusedFilters: Array<[string, Filter]> = [
        ['$where', { $where: 'this.amount > 0' }],
        ['$expr', { $expr: { $gt: ['$amount', 0] } }],
        ['$nor', { $nor: [{ stage: 'won' }] }],
        ['$text', { $text: { $search: 'won' } }],
        ['$regex', { stage: { $regex: '^w' } }],
        ['$not', { stage: { $not: { $eq: 'won' } } }],
        ['$elemMatch', { tags: { $elemMatch: { $eq: 'a' } } }],
        ['$size', { tags: { $size: 2 } }],
        ['$foo', { stage: { $foo: 1 } }],
        ['a..b', { 'a..b': 1 }],
        ['a.$b', { 'a.$b': 1 }],
        ['owner.0', { 'owner.0': 1 }],
        ['1abc', { '1abc': 1 }],
        ['a b', { 'a b': 1 }],
        ["x'); DROP TABLE deals; --", { "x'); DROP TABLE deals; --": 1 }],
        ['not a valid field path', { '': 1 }],
        ['owner', { owner: { team: 'north' } }],
        ['$in', { stage: { $in: 'won' } }],
        ['$in', { stage: { $in: [{ a: 1 }] } }],
        ['$exists', { closedAt: { $exists: 1 } }],
        ['$gt', { amount: { $gt: null } }],
        ['$gt', { amount: { $gt: true } }],
        ['$eq', { amount: { $eq: { a: 1 } } }],
        ['amount', { amount: Number.POSITIVE_INFINITY }],
        ['amount', { amount: {} }],
        ['$and', { $and: [] }],
        ['$or', { $or: { stage: 'won' } }],
      ];

      for (const [token, filter] of refusedFilters) {
        it(`refuses the filter ${JSON.stringify(filter)} by name, in find, count and $match`, async () => {
          await assert.rejects(store().find('deals', { filter }), refusedNaming(token));
          await assert.rejects(store().count('deals', filter), refusedNaming(token));
          await assert.rejects(store().aggregate('deals', [{ $match: filter }]), refusedNaming(token));
          // Refused before the collection is looked at: an empty collection is no excuse.
          await assert.rejects(store().find('nothing', { filter }), refusedNaming(token));
        });
      }

      it('refuses a filter that is not an object', async () => {
        await assert.rejects(store().find('deals', { filter: [] as unknown as Filter }), refusedNaming('/filter'));
      });

      it('refuses bad sorts and page sizes', async () => {
        await assert.rejects(store().find('deals', { sort: [['a..b', 1]] }), refusedNaming('/sort'));
        await assert.rejects(store().find('deals', { sort: [['amount', 0 as 1]] }), refusedNaming('/sort'));
        await assert.rejects(store().find('deals', { sort: [['amount', 'asc' as unknown as 1]] }), refusedNaming('/sort'));
        await assert.rejects(store().find('deals', { sort: [['amount', 1], ['amount', -1]] }), refusedNaming('/sort'));
        for (const limit of [0, -1, 1.5]) await assert.rejects(store().find('deals', { limit }), refusedNaming('/limit'));
      });

      const refusedPipelines: Array<[string, Pipeline]> = [
        ['$lookup', [{ $lookup: { from: 'people', localField: 'a', foreignField: 'b', as: 'c' } }]],
        ['$project', [{ $project: { amount: 1 } }]],
        ['$unwind', [{ $unwind: '$tags' }]],
        ['$out', [{ $out: 'stolen' }]],
        ['$merge', [{ $merge: { into: 'stolen' } }]],
        ['$limit', [{ $limit: 1 }]],
        ['$push', [{ $group: { _id: '$stage', all: { $push: '$amount' } } }]],
        ['$max', [{ $group: { _id: '$stage', top: { $max: '$amount' } } }]],
        ['_id', [{ $group: { _id: { stage: '$stage' }, n: { $sum: 1 } } }]],
        ['_id', [{ $group: { n: { $sum: 1 } } }]],
        ['$sum', [{ $group: { _id: null, n: { $sum: 'amount' } } }]],
        ['$avg', [{ $group: { _id: null, n: { $avg: 3 } } }]],
        ['/pipeline/0/$group/_id', [{ $group: { _id: '$a..b', n: { $sum: 1 } } }]],
        ['a..b', [{ $sort: { 'a..b': 1 } }]],
        ['$count', [{ $count: '$n' }]],
        ['/pipeline/0', [{ $match: {}, $sort: { amount: 1 } }]],
      ];

      for (const [token, pipeline] of refusedPipelines) {
        it(`refuses the pipeline ${JSON.stringify(pipeline)} by name`, async () => {
          await assert.rejects(store().aggregate('deals', pipeline), refusedNaming(token));
        });
      }

      it('refuses invalid collection names', async () => {
        for (const bad of ['', 'a.b', 'system.users', 'a b', '"x"', 'doc:x']) {
          await assert.rejects(store().find(bad), refusedNaming('/collection'));
          await assert.rejects(store().upsert(bad, [{ _id: 'x' }]), refusedNaming('/collection'));
        }
      });

      it('left the data untouched by everything it refused', async () => {
        assert.equal(await store().count('deals'), DEALS.length);
        assert.deepEqual(await store().collections(), ['deals']);
      });
    });
  });
}
