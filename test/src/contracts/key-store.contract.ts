/**
 * The behaviour every KeyStore adapter must show. An adapter's spec calls
 * `keyStoreContract(name, harness)`; the suite uses only the port, so the SQLite and
 * PostgreSQL adapters are held to the same tests.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  SubjectErased,
  SubjectKeyExists,
  UnknownSubject,
  type KeyStore,
  type WrappedSubjectKey,
} from '@crm/core';
import { KEK_NEW, KEK_OLD, wrappedKey } from './key-store-fixtures.ts';
import { withOpened } from './with-opened.ts';

export interface KeyStoreHarness {
  /**
   * A new, empty place for keys (a file, a schema...) that shares no data with any place
   * before: the suite asserts exact counts and listings. The function it returns opens a
   * store on that place, as often as it is called: stores opened on one place share its
   * keys and tombstones, like two processes would. The suite closes every store it opens.
   */
  freshPlace(): Promise<() => Promise<KeyStore>>;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Equal keys, comparing bytes by value whatever Uint8Array subclass the adapter returns. */
function assertSameKey(actual: WrappedSubjectKey, expected: WrappedSubjectKey): void {
  assert.ok(actual.wrapped instanceof Uint8Array, 'wrapped is a Uint8Array');
  assert.deepEqual({ ...actual, wrapped: hex(actual.wrapped) }, { ...expected, wrapped: hex(expected.wrapped) });
}

async function activeKey(store: KeyStore, subjectId: string): Promise<WrappedSubjectKey> {
  const record = await store.find(subjectId);
  assert.equal(record?.state, 'active', 'subject has an active key');
  if (record?.state !== 'active') throw new Error('unreachable');
  return record.key;
}

export function keyStoreContract(name: string, harness: KeyStoreHarness): void {
  const withStore = (body: (store: KeyStore) => Promise<void>) => withOpened(async () => (await harness.freshPlace())(), body);

  describe(`KeyStore contract: ${name}`, () => {
    it('finds the key it created, bytes and all', () =>
      withStore(async (store) => {
        const key = wrappedKey();
        await store.create(key);
        assertSameKey(await activeKey(store, key.subjectId), key);
      }));

    it('finds nothing for an unknown subject', () =>
      withStore(async (store) => {
        assert.equal(await store.find(randomUUID()), undefined);
      }));

    it('refuses a second key for the same subject and keeps the first', () =>
      withStore(async (store) => {
        const first = wrappedKey();
        await store.create(first);
        const second = wrappedKey({ subjectId: first.subjectId, kekId: KEK_NEW });
        await assert.rejects(store.create(second), SubjectKeyExists);
        await assert.rejects(store.create({ ...second, keyVersion: 2 }), SubjectKeyExists);
        assertSameKey(await activeKey(store, first.subjectId), first);
      }));

    it('destroys every version of a key and leaves a tombstone holding no key material', () =>
      withStore(async (store) => {
        const key = wrappedKey();
        const bystander = wrappedKey();
        await store.create(key);
        await store.create(bystander);

        const tombstone = await store.destroy(key.subjectId, 'req-erase-1', '2025-02-03T04:05:06.000Z');

        const expected = {
          subjectId: key.subjectId,
          destroyedAt: '2025-02-03T04:05:06.000Z',
          requestId: 'req-erase-1',
          keyVersions: [1],
        };
        assert.deepEqual(tombstone, expected);
        const record = await store.find(key.subjectId);
        assert.deepEqual(record, { state: 'destroyed', tombstone: expected });
        assert.ok(!JSON.stringify(record).includes(hex(key.wrapped)), 'no key bytes in the record');
        // Gone from every way the port can reach a key, and only this subject's.
        assert.deepEqual(await store.listWrappedByOtherThan(KEK_NEW, 100).then((ks) => ks.map((k) => k.subjectId)), [
          bystander.subjectId,
        ]);
        assert.equal(
          await store.rewrap([{ subjectId: key.subjectId, keyVersion: 1, fromKekId: KEK_OLD, kekId: KEK_NEW, wrapped: key.wrapped }]),
          0,
        );
        assert.deepEqual(await store.stats(), { activeKeysByKek: { [KEK_OLD]: 1 }, tombstones: 1 });
        assertSameKey(await activeKey(store, bystander.subjectId), bystander);
      }));

    it('destroys idempotently: a repeat returns the first tombstone unchanged', () =>
      withStore(async (store) => {
        const key = wrappedKey();
        await store.create(key);
        const first = await store.destroy(key.subjectId, 'req-1', '2025-02-03T04:05:06.000Z');
        const again = await store.destroy(key.subjectId, 'req-2', '2025-03-04T05:06:07.000Z');
        assert.deepEqual(again, first);
        assert.deepEqual(await store.find(key.subjectId), { state: 'destroyed', tombstone: first });
        assert.equal((await store.stats()).tombstones, 1);
      }));

    it('never re-creates a key for an erased subject', () =>
      withStore(async (store) => {
        const key = wrappedKey();
        await store.create(key);
        const tombstone = await store.destroy(key.subjectId, 'req-1', '2025-02-03T04:05:06.000Z');
        await assert.rejects(store.create(wrappedKey({ subjectId: key.subjectId })), SubjectErased);
        await assert.rejects(store.create(wrappedKey({ subjectId: key.subjectId, keyVersion: 2 })), SubjectErased);
        assert.deepEqual(await store.find(key.subjectId), { state: 'destroyed', tombstone });
        assert.deepEqual(await store.stats(), { activeKeysByKek: {}, tombstones: 1 });
      }));

    it('refuses to destroy an unknown subject and leaves no tombstone', () =>
      withStore(async (store) => {
        const subjectId = randomUUID();
        await assert.rejects(store.destroy(subjectId, 'req-1', '2025-02-03T04:05:06.000Z'), UnknownSubject);
        assert.equal(await store.find(subjectId), undefined);
        // An unknown subject must stay creatable: the failed destroy is no erasure.
        await store.create(wrappedKey({ subjectId }));
      }));

    it('lets exactly one of many concurrent creates for a subject win', () =>
      withStore(async (store) => {
        const subjectId = randomUUID();
        const candidates = Array.from({ length: 8 }, () => wrappedKey({ subjectId }));
        const results = await Promise.allSettled(candidates.map((k) => store.create(k)));

        const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [candidates[i]] : []));
        assert.equal(winners.length, 1, 'exactly one create succeeds');
        for (const r of results) {
          if (r.status === 'rejected') assert.ok(r.reason instanceof SubjectKeyExists, `loser got ${String(r.reason)}`);
        }
        const winner = winners[0];
        assert.ok(winner);
        assertSameKey(await activeKey(store, subjectId), winner);
      }));

    it('returns one tombstone to concurrent destroys', () =>
      withStore(async (store) => {
        const key = wrappedKey();
        await store.create(key);
        const tombstones = await Promise.all(
          ['req-a', 'req-b', 'req-c'].map((req) => store.destroy(key.subjectId, req, '2025-02-03T04:05:06.000Z')),
        );
        for (const t of tombstones) assert.deepEqual(t, tombstones[0]);
        assert.equal((await store.stats()).tombstones, 1);
      }));

    it('rewraps only keys still wrapped by fromKekId (compare-and-set)', () =>
      withStore(async (store) => {
        const key = wrappedKey({ kekId: KEK_OLD });
        await store.create(key);
        const newWrapping = new Uint8Array(randomBytes(60));

        const stale = { subjectId: key.subjectId, keyVersion: 1, fromKekId: 'kek-other', kekId: KEK_NEW, wrapped: newWrapping };
        assert.equal(await store.rewrap([stale]), 0);
        assertSameKey(await activeKey(store, key.subjectId), key);

        const current = { ...stale, fromKekId: KEK_OLD };
        const unknown = { ...current, subjectId: randomUUID() };
        const otherVersion = { ...current, keyVersion: 2 };
        assert.equal(await store.rewrap([current, unknown, otherVersion]), 1);
        assertSameKey(await activeKey(store, key.subjectId), { ...key, kekId: KEK_NEW, wrapped: newWrapping });
        assert.equal(await store.find(unknown.subjectId), undefined, 'rewrap never creates a key');

        // Replaying the same rewrap is now stale: it must not count or change anything.
        assert.equal(await store.rewrap([current]), 0);
        assert.equal(await store.rewrap([]), 0);
      }));

    it('lists keys wrapped by other master keys, page by page as they are rewrapped', () =>
      withStore(async (store) => {
        const old = Array.from({ length: 5 }, () => wrappedKey({ kekId: KEK_OLD }));
        const older = wrappedKey({ kekId: 'kek-2023' });
        const current = Array.from({ length: 2 }, () => wrappedKey({ kekId: KEK_NEW }));
        const destroyed = wrappedKey({ kekId: KEK_OLD });
        for (const k of [...old, older, ...current, destroyed]) await store.create(k);
        await store.destroy(destroyed.subjectId, 'req-1', '2025-02-03T04:05:06.000Z');

        const expected = new Map([...old, older].map((k) => [k.subjectId, k]));
        const seen = new Set<string>();
        for (let page = 0; page < 10; page++) {
          const batch = await store.listWrappedByOtherThan(KEK_NEW, 2);
          if (batch.length === 0) break;
          assert.ok(batch.length <= 2, 'a page holds at most limit keys');
          for (const k of batch) {
            const original = expected.get(k.subjectId);
            assert.ok(original, 'listed only keys wrapped by another master key');
            assertSameKey(k, original);
            assert.ok(!seen.has(k.subjectId), 'a rewrapped key is not listed again');
            seen.add(k.subjectId);
          }
          const changed = await store.rewrap(
            batch.map((k) => ({ ...k, fromKekId: k.kekId, kekId: KEK_NEW, wrapped: new Uint8Array(randomBytes(60)) })),
          );
          assert.equal(changed, batch.length);
        }
        assert.deepEqual([...seen].sort(), [...expected.keys()].sort());
        assert.deepEqual(await store.listWrappedByOtherThan(KEK_NEW, 2), []);
        assert.equal((await store.listWrappedByOtherThan(KEK_OLD, 100)).length, 8);
        assert.deepEqual(await store.listWrappedByOtherThan(KEK_OLD, 0), []);
      }));

    it('counts active keys per master key and tombstones', () =>
      withStore(async (store) => {
        assert.deepEqual(await store.stats(), { activeKeysByKek: {}, tombstones: 0 });
        const oldKey = wrappedKey({ kekId: KEK_OLD });
        const newKey = wrappedKey({ kekId: KEK_NEW });
        const others = [wrappedKey({ kekId: KEK_OLD }), wrappedKey({ kekId: KEK_NEW }), wrappedKey({ kekId: KEK_NEW })];
        for (const k of [oldKey, newKey, ...others]) await store.create(k);
        assert.deepEqual(await store.stats(), { activeKeysByKek: { [KEK_OLD]: 2, [KEK_NEW]: 3 }, tombstones: 0 });

        await store.destroy(oldKey.subjectId, 'req-1', '2025-02-03T04:05:06.000Z');
        await store.destroy(newKey.subjectId, 'req-2', '2025-02-03T04:05:06.000Z');
        assert.deepEqual(await store.stats(), { activeKeysByKek: { [KEK_OLD]: 1, [KEK_NEW]: 2 }, tombstones: 2 });
      }));

    it('refuses a negative page size instead of listing every key', () =>
      withStore(async (store) => {
        await store.create(wrappedKey());
        await assert.rejects(store.listWrappedByOtherThan('kek-other', -1), RangeError);
      }));

    it('keeps tombstones across a reopen, so an erased subject stays erased', async () => {
      const open = await harness.freshPlace();
      const erased = wrappedKey();
      const kept = wrappedKey();
      const first = await open();
      await first.create(erased);
      await first.create(kept);
      const tombstone = await first.destroy(erased.subjectId, 'req-erase', '2025-02-03T04:05:06.000Z');
      await first.close();

      const reopened = await open();
      try {
        assert.deepEqual(await reopened.find(erased.subjectId), { state: 'destroyed', tombstone });
        await assert.rejects(reopened.create(wrappedKey({ subjectId: erased.subjectId })), SubjectErased);
        assert.deepEqual(await reopened.find(kept.subjectId), { state: 'active', key: kept });
      } finally {
        await reopened.close();
      }
    });
  });
}
