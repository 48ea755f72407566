/**
 * The store's own logic (log linking, positions, idempotency claims, subscriptions) on an
 * in-memory stand-in for the client. This runs without a server and proves the adapter's
 * reasoning, not EventStoreDB's behaviour: the integration spec does that with CRM_ESDB_URL.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DuplicateIdempotencyKey, type EventStore } from '@crm/core';
// By path, not by package, like the other adapters: @crm/test would otherwise depend back on us.
import { eventStoreContract } from '../../../test/src/contracts/index.ts';
import { probeEvent, probeEvents, readEverything, within } from '../../../test/src/contracts/event-store-fixtures.ts';
import { openEventStoreDbEventStoreOnClient, type EventStoreDbEventStoreOptions } from './eventstoredb-event-store.ts';
import { CLAIMED, COMPLETED, RELEASED, foldKeyState } from './idempotency.ts';
import { InMemoryEsdb } from './in-memory-esdb.ts';
import { toEventData } from './mapping.ts';
import { randomStreamPrefix, storeNames } from './names.ts';

type Options = Omit<EventStoreDbEventStoreOptions, 'connectionString'>;

// One server shared by every store, each under a prefix of its own, as on a real test server.
const shared = new InMemoryEsdb();
const open = (server: InMemoryEsdb, options: Options = {}) =>
  openEventStoreDbEventStoreOnClient(server.client(), { streamPrefix: randomStreamPrefix('unit'), pollIntervalMs: 50, ...options });

eventStoreContract('EventStoreDB adapter on the in-memory client stand-in', { open: async () => open(shared) });
eventStoreContract('EventStoreDB adapter on the stand-in, 3-event pages, no position cache, no $all positions on stream reads', {
  open: async () => open(new InMemoryEsdb({ positionsOnStreamReads: false }), { batchSize: 3, positionCacheSize: 1 }),
});
eventStoreContract('EventStoreDB adapter on the stand-in, 2-event pages, 1-entry position cache', {
  open: async () => open(shared, { batchSize: 2, positionCacheSize: 1 }),
});

async function using(stores: EventStore[], run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } finally {
    for (const store of stores) await store.close();
  }
}

describe('EventStoreDB adapter logic (in-memory stand-in)', { timeout: 60_000 }, () => {
  test('two processes on one store link every event exactly once and agree on positions', async () => {
    const server = new InMemoryEsdb();
    const streamPrefix = randomStreamPrefix('two');
    const a = open(server, { streamPrefix });
    const b = open(server, { streamPrefix, batchSize: 4 });
    await using([a, b], async () => {
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).append(`s-${i % 5}`, probeEvents(1 + (i % 3), `w${i}`))),
      );
      const fromA = await readEverything(a);
      const fromB = await readEverything(b);
      assert.equal(fromA.length, results.reduce((n, r) => n + (r.lastPosition - r.firstPosition + 1), 0));
      assert.deepEqual(fromA, fromB);
      fromA.forEach((e, i) => assert.equal(e.globalPosition, i + 1));
      assert.equal(new Set(fromA.map((e) => e.eventId)).size, fromA.length, 'no event linked twice');
      for (const r of results) {
        const stream = await a.readStream(r.streamId);
        const last = stream.find((e) => e.streamVersion === r.nextExpectedVersion);
        assert.equal(last?.globalPosition, r.lastPosition, 'the append result names the positions readers see');
      }
      // Each stream keeps its order inside the global order.
      for (let s = 0; s < 5; s++) {
        const versions = fromA.filter((e) => e.streamId === `s-${s}`).map((e) => e.streamVersion);
        assert.deepEqual(versions, versions.map((_, i) => i + 1));
      }
      assert.equal(await a.headPosition(), await b.headPosition());
    });
  });

  test('an event committed by a writer that died before linking it is linked by the next reader', async () => {
    const server = new InMemoryEsdb();
    const streamPrefix = randomStreamPrefix('crash');
    const names = storeNames(streamPrefix);
    const store = open(server, { streamPrefix });
    await using([store], async () => {
      await store.append('s', probeEvents(2));
      const probe = (async () => {
        const seen: number[] = [];
        const controller = new AbortController();
        for await (const event of store.subscribe({ after: 2, signal: controller.signal })) {
          seen.push(event.globalPosition);
          controller.abort();
        }
        return seen;
      })();
      // What a writer leaves behind when it dies right after ESDB acknowledged its append.
      const [orphan] = probeEvents(1, 'orphan');
      assert.ok(orphan);
      server.write(names.stream('s'), [toEventData(orphan)]);
      assert.deepEqual(await within(probe, 5_000, 'a subscriber links and delivers the orphan'), [3]);
      assert.equal(await store.headPosition(), 3);
      const stream = await store.readStream('s');
      assert.deepEqual(stream.map((e) => [e.streamVersion, e.globalPosition]), [[1, 1], [2, 2], [3, 3]]);
      assert.equal(stream[2]?.eventId, orphan.eventId);
      // A store opened later on the same prefix continues after it.
      const later = open(server, { streamPrefix });
      await using([later], async () => {
        assert.equal((await later.append('t', probeEvents(1))).firstPosition, 4);
      });
    });
  });

  test('a new store starts at position 1 however much the shared server already holds', async () => {
    const server = new InMemoryEsdb();
    const first = open(server);
    await first.append('busy', probeEvents(50));
    await first.close();
    const before = server.size;
    const store = open(server);
    await using([store], async () => {
      assert.equal(await store.headPosition(), 0);
      assert.equal((await store.append('busy', probeEvents(1))).firstPosition, 1);
      assert.deepEqual((await store.readAll()).map((e) => e.globalPosition), [1]);
      assert.ok(server.size > before);
    });
  });

  test('a claim whose writer died after its append is completed by whoever finds it after the lease', async () => {
    const server = new InMemoryEsdb();
    const streamPrefix = randomStreamPrefix('lease');
    const names = storeNames(streamPrefix);
    const store = open(server, { streamPrefix, idempotencyLeaseMs: 1 });
    await using([store], async () => {
      assert.equal(await store.headPosition(), 0); // the log exists before any writer appends, as it always does
      const events = probeEvents(2);
      const claim = {
        claimId: randomUUID(), scope: 'OpenCase', reply: { ok: 1 }, streamId: 'case-9', eventIds: events.map((e) => e.eventId),
      };
      server.write(names.idempotency('k-done'), [{ id: randomUUID(), contentType: 'application/json', type: CLAIMED, data: claim, metadata: undefined }]);
      server.write(names.stream('case-9'), events.map(toEventData));
      await new Promise((resolve) => setTimeout(resolve, 5));
      const found = await store.findIdempotentResult('k-done');
      assert.deepEqual(found, {
        scope: 'OpenCase',
        reply: { ok: 1 },
        result: { streamId: 'case-9', nextExpectedVersion: 2, firstPosition: 1, lastPosition: 2 },
      });
      await assert.rejects(store.append('other', probeEvents(1), { idempotency: { key: 'k-done', scope: 'OpenCase', reply: null } }), DuplicateIdempotencyKey);
      assert.deepEqual(server.rawStream(names.idempotency('k-done')).map((e) => e.type), [CLAIMED, COMPLETED]);
    });
  });

  test('a claim whose writer died before its append is released after the lease, and the key is usable again', async () => {
    const server = new InMemoryEsdb();
    const streamPrefix = randomStreamPrefix('lease');
    const names = storeNames(streamPrefix);
    const store = open(server, { streamPrefix, idempotencyLeaseMs: 1 });
    await using([store], async () => {
      const claim = { claimId: randomUUID(), scope: 'OpenCase', reply: null, streamId: 'case-9', eventIds: [randomUUID()] };
      server.write(names.idempotency('k-lost'), [{ id: randomUUID(), contentType: 'application/json', type: CLAIMED, data: claim, metadata: undefined }]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(await store.findIdempotentResult('k-lost'), undefined);
      const result = await store.append('case-9', probeEvents(1), { idempotency: { key: 'k-lost', scope: 'OpenCase', reply: { again: true } } });
      assert.deepEqual(await store.findIdempotentResult('k-lost'), { scope: 'OpenCase', result, reply: { again: true } });
      assert.deepEqual(server.rawStream(names.idempotency('k-lost')).map((e) => e.type), [CLAIMED, RELEASED, CLAIMED, COMPLETED]);
    });
  });

  test('an open claim within its lease turns other appends under the key away', async () => {
    const server = new InMemoryEsdb();
    const store = open(server, { idempotencyLeaseMs: 60_000 });
    await using([store], async () => {
      let failed = false;
      server.beforeAppend = (streamName) => {
        // The first append of events is lost on the way: the client cannot know whether it landed.
        if (!failed && !streamName.includes('$crm-')) {
          failed = true;
          throw new Error('socket hang up');
        }
      };
      await assert.rejects(store.append('s', probeEvents(1), { idempotency: { key: 'k', scope: 'Cmd', reply: null } }), /socket hang up/);
      server.beforeAppend = undefined;
      // The call was lost, not refused: the claim stays open (the events might have been written).
      await assert.rejects(store.append('s', probeEvents(1), { idempotency: { key: 'k', scope: 'Cmd', reply: null } }), DuplicateIdempotencyKey);
      assert.equal(await store.findIdempotentResult('k'), undefined);
      assert.equal(await store.headPosition(), 0);
    });
  });

  test('the key state machine: completed is final, a release frees only its own claim', () => {
    const at = new Date();
    const ev = (type: string, revision: bigint, data: object) => ({ type, revision, created: at, data });
    const result = { streamId: 's', nextExpectedVersion: 1, firstPosition: 1, lastPosition: 1 };
    assert.deepEqual(foldKeyState([]), { kind: 'free', revision: undefined });
    assert.equal(foldKeyState([ev(CLAIMED, 0n, { claimId: 'a' })]).kind, 'claimed');
    assert.deepEqual(foldKeyState([ev(CLAIMED, 0n, { claimId: 'a' }), ev(RELEASED, 1n, { claimId: 'a' })]), { kind: 'free', revision: 1n });
    assert.equal(foldKeyState([ev(CLAIMED, 0n, { claimId: 'a' }), ev(RELEASED, 1n, { claimId: 'b' })]).kind, 'claimed');
    const done = foldKeyState([
      ev(CLAIMED, 0n, { claimId: 'a' }),
      ev(COMPLETED, 1n, { claimId: 'a', scope: 'Cmd', reply: { r: 1 }, result }),
      ev(RELEASED, 2n, { claimId: 'a' }),
    ]);
    assert.deepEqual(done, { kind: 'completed', revision: 2n, record: { scope: 'Cmd', reply: { r: 1 }, result } });
  });

  test('stores on one server under different prefixes never see each other', async () => {
    const server = new InMemoryEsdb();
    const a = open(server);
    const b = open(server);
    await using([a, b], async () => {
      await a.append('same-id', probeEvents(2, 'a'));
      await b.append('same-id', probeEvents(1, 'b'), { expectedVersion: 'no-stream' });
      assert.deepEqual((await readEverything(a)).map((e) => (e.data as { tag: string }).tag), ['a', 'a']);
      assert.deepEqual((await readEverything(b)).map((e) => (e.data as { tag: string }).tag), ['b']);
      assert.equal(await b.headPosition(), 1);
    });
  });

  test('readBySubject scans the log page by page: a subject named once, far in, is found; events linked late too', async () => {
    const server = new InMemoryEsdb();
    const streamPrefix = randomStreamPrefix('subject');
    const names = storeNames(streamPrefix);
    const subject = '01900000-0000-7000-8000-00000000a001';
    const store = open(server, { streamPrefix, batchSize: 2 });
    await using([store], async () => {
      for (let i = 0; i < 9; i++) await store.append(`noise-${i % 3}`, probeEvents(1, `noise-${i}`));
      await store.append('mine', [probeEvent({ tag: 'mine' }, { subjectIds: [subject] })]);
      await store.append('noise-0', probeEvents(2, 'after'));
      const found = await store.readBySubject(subject, { limit: 1 });
      assert.deepEqual(found.map((e) => [e.streamId, e.globalPosition]), [['mine', 10]]);
      assert.deepEqual(await store.readBySubject(subject, { after: 10 }), []);
      // Written by another writer and not linked yet: readBySubject links before it scans.
      server.write(names.stream('theirs'), [toEventData(probeEvent({ tag: 'theirs' }, { subjectIds: [subject] }))]);
      assert.deepEqual((await store.readBySubject(subject)).map((e) => e.streamId), ['mine', 'theirs']);
      await assert.rejects(store.readBySubject(subject, { after: -1 }), RangeError);
    });
  });

  test('refuses bad input before writing anything', async () => {
    const server = new InMemoryEsdb();
    const store = open(server);
    await using([store], async () => {
      const before = server.size;
      await assert.rejects(store.append('$system', probeEvents(1)), RangeError);
      await assert.rejects(store.append('s', probeEvents(1), { expectedVersion: -1 }), RangeError);
      await assert.rejects(store.append('s', [{ ...probeEvents(1)[0]!, schemaVersion: 0 }]), RangeError);
      await assert.rejects(store.readAll({ after: -1 }), RangeError);
      assert.equal(server.size, before);
      assert.throws(() => open(server, { streamPrefix: 'bad prefix' }), RangeError);
    });
    await assert.rejects(store.append('s', probeEvents(1)), /closed/);
  });
});
