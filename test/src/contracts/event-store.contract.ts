import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DuplicateIdempotencyKey,
  WrongExpectedVersion,
  type AppendResult,
  type EventStore,
  type RecordedEvent,
} from '@crm/core';
import { assertCrashSurvivorsWhole, killWriterMidFlight, type CommittedBatch } from './crash-probe.ts';
import type { EventStoreHarness } from './event-store-harness.ts';
import {
  probeEvent,
  probeEvents,
  probeSubscription,
  readEverything,
  sleep,
  within,
} from './event-store-fixtures.ts';
import { openStoreWith } from './open-store.ts';
import { withOpened } from './with-opened.ts';

export type { EventStoreHarness, EventStoreOpener } from './event-store-harness.ts';

const WAIT_MS = 10_000;

/**
 * The behaviour every EventStore adapter must show. An adapter's spec calls this once with a
 * harness; the suite never looks behind the port.
 */
export function eventStoreContract(name: string, harness: EventStoreHarness): void {
  const withStore = (use: (store: EventStore) => Promise<void>) => withOpened(() => harness.open(), use);

  const isConflict = (streamId: string, expected: number | string, actual: number) => (error: unknown) => {
    assert.ok(error instanceof WrongExpectedVersion, `expected WrongExpectedVersion, got ${String(error)}`);
    assert.equal(error.streamId, streamId);
    assert.equal(error.expected, expected);
    assert.equal(error.actual, actual);
    return true;
  };

  describe(`EventStore contract: ${name}`, { timeout: 120_000 }, () => {
    describe('append and read', () => {
      test('reads back a new stream in order with versions 1..n, positions, payloads and recordedAt', async () => {
        await withStore(async (store) => {
          const data = { text: 'Grüße, 東京 🚀', amount: 12.5, tags: ['a', 'b'], nested: { ok: true, none: null } };
          const metadata = {
            subjectIds: ['01900000-0000-7000-8000-000000000001'],
            commandId: 'cmd-1',
            commandType: 'OpenCase',
            correlationId: 'corr-1',
            causationId: 'cause-1',
            actor: 'agent-7',
          };
          const toAppend = [probeEvent(data, metadata), probeEvent({ n: 2 }), probeEvent({ n: 3 })];
          const before = Date.now();
          const result = await store.append('case-1', toAppend, { expectedVersion: 'no-stream' });
          const after = Date.now();
          assert.deepEqual(result, { streamId: 'case-1', nextExpectedVersion: 3, firstPosition: 1, lastPosition: 3 });

          const read = await store.readStream('case-1');
          assert.equal(read.length, 3);
          read.forEach((event, i) => {
            const sent = toAppend[i];
            assert.ok(sent);
            assert.equal(event.eventId, sent.eventId);
            assert.equal(event.type, sent.type);
            assert.equal(event.schemaVersion, sent.schemaVersion);
            assert.deepEqual(event.data, sent.data);
            assert.deepEqual(event.metadata, sent.metadata);
            assert.equal(event.streamId, 'case-1');
            assert.equal(event.streamVersion, i + 1);
            assert.equal(event.globalPosition, i + 1);
            assert.match(event.recordedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
            const at = Date.parse(event.recordedAt);
            // Generous bounds: a server-side clock may differ a little from ours.
            assert.ok(at >= before - 60_000 && at <= after + 60_000, 'recordedAt is the commit time');
          });
        });
      });

      test('continues a stream at the next version and global position', async () => {
        await withStore(async (store) => {
          await store.append('a', probeEvents(2));
          await store.append('b', probeEvents(1));
          const result = await store.append('a', probeEvents(2, 'second'), { expectedVersion: 2 });
          assert.deepEqual(result, { streamId: 'a', nextExpectedVersion: 4, firstPosition: 4, lastPosition: 5 });
          const a = await store.readStream('a');
          assert.deepEqual(a.map((e) => [e.streamVersion, e.globalPosition]), [[1, 1], [2, 2], [3, 4], [4, 5]]);
          assert.deepEqual(a.map((e) => e.data), [{ tag: 'probe', n: 0 }, { tag: 'probe', n: 1 }, { tag: 'second', n: 0 }, { tag: 'second', n: 1 }]);
        });
      });

      test('readStream is empty for an unknown stream and honours afterVersion', async () => {
        await withStore(async (store) => {
          assert.deepEqual(await store.readStream('nobody'), []);
          await store.append('s', probeEvents(5));
          assert.deepEqual((await store.readStream('s', { afterVersion: 3 })).map((e) => e.streamVersion), [4, 5]);
          assert.deepEqual(await store.readStream('s', { afterVersion: 5 }), []);
        });
      });
    });

    describe('expected version', () => {
      test('a number must equal the current version; 0 means the stream must not exist', async () => {
        await withStore(async (store) => {
          await store.append('s', probeEvents(2), { expectedVersion: 0 });
          await assert.rejects(store.append('s', probeEvents(1), { expectedVersion: 0 }), isConflict('s', 0, 2));
          await assert.rejects(store.append('s', probeEvents(1), { expectedVersion: 1 }), isConflict('s', 1, 2));
          await assert.rejects(store.append('s', probeEvents(1), { expectedVersion: 3 }), isConflict('s', 3, 2));
          await assert.rejects(store.append('t', probeEvents(1), { expectedVersion: 1 }), isConflict('t', 1, 0));
          const ok = await store.append('s', probeEvents(1), { expectedVersion: 2 });
          assert.equal(ok.nextExpectedVersion, 3);
          assert.equal((await store.readStream('s')).length, 3);
          assert.deepEqual(await store.readStream('t'), []);
        });
      });

      test("'no-stream' refuses an existing stream", async () => {
        await withStore(async (store) => {
          await store.append('s', probeEvents(1), { expectedVersion: 'no-stream' });
          await assert.rejects(store.append('s', probeEvents(1), { expectedVersion: 'no-stream' }), isConflict('s', 'no-stream', 1));
          assert.equal((await store.readStream('s')).length, 1);
        });
      });

      test("'exists' refuses a missing stream and accepts one at any version", async () => {
        await withStore(async (store) => {
          await assert.rejects(store.append('s', probeEvents(1), { expectedVersion: 'exists' }), isConflict('s', 'exists', 0));
          assert.deepEqual(await store.readStream('s'), []);
          await store.append('s', probeEvents(2));
          const result = await store.append('s', probeEvents(1), { expectedVersion: 'exists' });
          assert.equal(result.nextExpectedVersion, 3);
        });
      });

      test("'any' and no expectation append whatever the version", async () => {
        await withStore(async (store) => {
          assert.equal((await store.append('s', probeEvents(1), { expectedVersion: 'any' })).nextExpectedVersion, 1);
          assert.equal((await store.append('s', probeEvents(2))).nextExpectedVersion, 3);
          assert.equal((await store.append('s', probeEvents(1), { expectedVersion: 'any' })).nextExpectedVersion, 4);
        });
      });

      test('appending no events writes nothing but still checks the expectation', async () => {
        await withStore(async (store) => {
          const empty = await store.append('s', [], { expectedVersion: 'no-stream' });
          assert.equal(empty.nextExpectedVersion, 0);
          await assert.rejects(store.append('s', [], { expectedVersion: 'exists' }), isConflict('s', 'exists', 0));
          await store.append('s', probeEvents(2));
          assert.equal((await store.append('s', [], { expectedVersion: 2 })).nextExpectedVersion, 2);
          await assert.rejects(store.append('s', [], { expectedVersion: 1 }), isConflict('s', 1, 2));
          await assert.rejects(store.append('s', [], { expectedVersion: 'no-stream' }), isConflict('s', 'no-stream', 2));
          assert.equal(await store.headPosition(), 2);
          assert.equal((await store.readStream('s')).length, 2);
        });
      });
    });

    describe('concurrent writers', () => {
      test('of 20 concurrent appends expecting the same version exactly one wins', async () => {
        await withStore(async (store) => {
          await store.append('hot', probeEvents(2));
          const attempts = Array.from({ length: 20 }, (_, w) =>
            store.append('hot', probeEvents(3, `writer-${w}`), { expectedVersion: 2 }),
          );
          const settled = await Promise.allSettled(attempts);
          const winners = settled.flatMap((s, w) => (s.status === 'fulfilled' ? [w] : []));
          assert.equal(winners.length, 1, 'exactly one writer wins');
          const winner = winners[0] ?? -1;
          settled.forEach((s, w) => {
            if (w === winner) return;
            assert.equal(s.status, 'rejected');
            if (s.status === 'rejected') isConflict('hot', 2, 5)(s.reason);
          });
          const stream = await store.readStream('hot');
          assert.deepEqual(
            stream.slice(2).map((e) => e.data),
            probeEvents(3, `writer-${winner}`).map((e) => e.data),
            "the stream holds the winner's events and nobody else's",
          );
          assert.equal(stream.length, 5);
          assert.equal(await store.headPosition(), 5);
        });
      });

      test('no lost update: workers that read, append at that version and retry on conflict', async () => {
        await withStore(async (store) => {
          const workers = 8;
          const incrementsPerWorker = 10;
          let conflicts = 0;
          const work = async (worker: number) => {
            for (let n = 0; n < incrementsPerWorker; ) {
              const version = (await store.readStream('counter')).at(-1)?.streamVersion ?? 0;
              try {
                await store.append('counter', [probeEvent({ worker, n })], { expectedVersion: version });
                n += 1;
              } catch (error) {
                if (!(error instanceof WrongExpectedVersion)) throw error;
                conflicts += 1;
              }
            }
          };
          await Promise.all(Array.from({ length: workers }, (_, w) => work(w)));

          const stream = await store.readStream('counter');
          assert.equal(stream.length, workers * incrementsPerWorker, 'every successful increment is stored');
          stream.forEach((e, i) => assert.equal(e.streamVersion, i + 1));
          const increments = new Set(stream.map((e) => JSON.stringify(e.data)));
          assert.equal(increments.size, stream.length, 'no increment is stored twice');
          for (let w = 0; w < workers; w++) {
            for (let n = 0; n < incrementsPerWorker; n++) {
              assert.ok(increments.has(JSON.stringify({ worker: w, n })), `increment ${w}/${n} is there`);
            }
          }
          assert.ok(conflicts > 0, 'the workers really raced (otherwise this test proves nothing)');
        });
      });
    });

    describe('idempotency', () => {
      test('a retry under the same key appends nothing and the first result and reply are kept', async () => {
        await withStore(async (store) => {
          const idempotency = { key: 'key-1', scope: 'OpenCase', reply: { caseId: 'case-1', accepted: true } };
          const first = await store.append('case-1', probeEvents(2), { expectedVersion: 'no-stream', idempotency });
          // The retry repeats the first call exactly: it must hear "already done", not "conflict".
          await assert.rejects(
            store.append('case-1', probeEvents(2), { expectedVersion: 'no-stream', idempotency }),
            (error: unknown) => error instanceof DuplicateIdempotencyKey && error.key === 'key-1',
          );
          await assert.rejects(
            store.append('other', probeEvents(1), { idempotency: { ...idempotency, reply: { caseId: 'other' } } }),
            DuplicateIdempotencyKey,
          );
          assert.equal(await store.headPosition(), 2);
          assert.deepEqual(await store.readStream('other'), []);
          assert.deepEqual(await store.findIdempotentResult('key-1'), {
            scope: 'OpenCase',
            result: first,
            reply: { caseId: 'case-1', accepted: true },
          });
          assert.equal(await store.findIdempotentResult('never-used'), undefined);
        });
      });

      test('a failed append does not use up its key', async () => {
        await withStore(async (store) => {
          const idempotency = { key: 'key-2', scope: 'CloseCase', reply: null };
          await assert.rejects(store.append('s', probeEvents(1), { expectedVersion: 'exists', idempotency }), WrongExpectedVersion);
          assert.equal(await store.findIdempotentResult('key-2'), undefined);
          const result = await store.append('s', probeEvents(1), { expectedVersion: 'no-stream', idempotency });
          assert.deepEqual(await store.findIdempotentResult('key-2'), { scope: 'CloseCase', result, reply: null });
        });
      });

      test('of concurrent appends under one key exactly one is recorded', async () => {
        await withStore(async (store) => {
          const settled = await Promise.allSettled(
            Array.from({ length: 5 }, (_, i) =>
              store.append(`s-${i}`, probeEvents(1), { idempotency: { key: 'same', scope: 'Cmd', reply: { i } } }),
            ),
          );
          const fulfilled = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [{ i, result: s.value }] : []));
          assert.equal(fulfilled.length, 1);
          for (const s of settled) if (s.status === 'rejected') assert.ok(s.reason instanceof DuplicateIdempotencyKey);
          const [won] = fulfilled;
          assert.ok(won);
          assert.deepEqual(await store.findIdempotentResult('same'), { scope: 'Cmd', result: won.result, reply: { i: won.i } });
          assert.equal(await store.headPosition(), 1);
        });
      });
    });

    describe('all or nothing', () => {
      test('an append whose expectation fails writes none of its events', async () => {
        await withStore(async (store) => {
          await store.append('s', probeEvents(2));
          await assert.rejects(store.append('s', probeEvents(5, 'rejected'), { expectedVersion: 1 }), WrongExpectedVersion);
          assert.equal(await store.headPosition(), 2);
          const all = await readEverything(store);
          assert.equal(all.length, 2);
          assert.ok(all.every((e) => (e.data as { tag: string }).tag === 'probe'));
          // The failed append leaves no hole: the next event takes the next position.
          const next = await store.append('s', probeEvents(1), { expectedVersion: 2 });
          assert.equal(next.firstPosition, 3);
        });
      });

      test('one failing append among concurrent ones fails alone', async () => {
        await withStore(async (store) => {
          await store.append('existing', probeEvents(1));
          await store.append('used', probeEvents(1), { idempotency: { key: 'used-key', scope: 'Cmd', reply: null } });
          const [fresh, conflicting, anyVersion, duplicate, tail] = await Promise.allSettled([
            store.append('fresh', probeEvents(3, 'fresh'), { expectedVersion: 'no-stream' }),
            store.append('existing', probeEvents(4, 'conflicting'), { expectedVersion: 'no-stream' }),
            store.append('existing', probeEvents(2, 'any'), { expectedVersion: 'any' }),
            store.append('dup', probeEvents(2, 'duplicate'), { idempotency: { key: 'used-key', scope: 'Cmd', reply: null } }),
            store.append('tail', probeEvents(1, 'tail')),
          ]);
          assert.equal(fresh?.status, 'fulfilled');
          assert.equal(anyVersion?.status, 'fulfilled');
          assert.equal(tail?.status, 'fulfilled');
          assert.ok(conflicting?.status === 'rejected' && conflicting.reason instanceof WrongExpectedVersion);
          assert.ok(duplicate?.status === 'rejected' && duplicate.reason instanceof DuplicateIdempotencyKey);

          const all = await readEverything(store);
          all.forEach((e, i) => assert.equal(e.globalPosition, i + 1, 'no hole where the failed appends were'));
          const tags = all.map((e) => (e.data as { tag: string }).tag);
          assert.equal(tags.filter((t) => t === 'fresh').length, 3);
          assert.equal(tags.filter((t) => t === 'any').length, 2);
          assert.equal(tags.filter((t) => t === 'tail').length, 1);
          assert.ok(!tags.includes('conflicting') && !tags.includes('duplicate'));
          assert.equal((await store.readStream('existing')).length, 3);
          assert.deepEqual(await store.readStream('dup'), []);
        });
      });
    });

    describe('readAll and headPosition', () => {
      test('an empty store has head 0 and reads nothing', async () => {
        await withStore(async (store) => {
          assert.equal(await store.headPosition(), 0);
          assert.deepEqual(await store.readAll(), []);
          assert.deepEqual(await readEverything(store), []);
        });
      });

      test('reads all streams in global order, after a position, up to a limit', async () => {
        await withStore(async (store) => {
          await store.append('a', probeEvents(2, 'a'));
          await store.append('b', probeEvents(3, 'b'));
          await store.append('a', probeEvents(1, 'a2'));
          assert.equal(await store.headPosition(), 6);

          const all = await store.readAll({ limit: 100 });
          assert.deepEqual(all.map((e) => e.globalPosition), [1, 2, 3, 4, 5, 6]);
          // Without a limit the adapter picks the page size: a non-empty prefix of the same order.
          const firstPage = await store.readAll();
          assert.ok(firstPage.length >= 1);
          assert.deepEqual(firstPage, all.slice(0, firstPage.length));
          assert.deepEqual(all.map((e) => `${e.streamId}@${e.streamVersion}`), ['a@1', 'a@2', 'b@1', 'b@2', 'b@3', 'a@3']);
          assert.deepEqual((await store.readAll({ after: 2, limit: 3 })).map((e) => e.globalPosition), [3, 4, 5]);
          assert.deepEqual((await store.readAll({ after: 4, limit: 100 })).map((e) => e.globalPosition), [5, 6]);
          assert.deepEqual((await store.readAll({ limit: 1 })).map((e) => e.globalPosition), [1]);
          assert.deepEqual(await store.readAll({ after: 6 }), []);
          const byStream = await store.readStream('a');
          assert.deepEqual(all.filter((e) => e.streamId === 'a'), byStream, 'readAll and readStream return the same events');
        });
      });

      test('reads only events of the given types, in global order, the limit counting only them', async () => {
        await withStore(async (store) => {
          const typed = (type: string, tag: string) => ({ ...probeEvent({ tag }), type });
          await store.append('a', [typed('Kept', 'k1'), typed('Skipped', 's1'), typed('Other', 'o1')]);
          await store.append('b', [typed('Skipped', 's2'), typed('Kept', 'k2'), typed('Kept', 'k3')]);
          const kept = await store.readAll({ types: ['Kept', 'Other'], limit: 100 });
          assert.deepEqual(kept.map((e) => [e.type, e.globalPosition]), [['Kept', 1], ['Other', 3], ['Kept', 5], ['Kept', 6]]);
          assert.deepEqual((await store.readAll({ types: ['Kept'], limit: 2 })).map((e) => e.globalPosition), [1, 5]);
          assert.deepEqual((await store.readAll({ types: ['Kept'], after: 1, limit: 1 })).map((e) => e.globalPosition), [5]);
          assert.deepEqual(await store.readAll({ types: ['Nothing'], limit: 10 }), []);
          assert.deepEqual(await store.readAll({ types: [], limit: 10 }), []);
        });
      });
    });

    describe('readBySubject', () => {
      const anna = '01900000-0000-7000-8000-00000000a001';
      const bert = '01900000-0000-7000-8000-00000000b002';
      const nobody = '01900000-0000-7000-8000-00000000c003';
      const naming = (tag: string, ...subjectIds: string[]) => probeEvent({ tag }, { subjectIds });

      /** Events naming anna, bert, both, and nobody, across four streams. */
      async function appendMixedHistory(store: EventStore): Promise<void> {
        await store.append('customer-anna', [naming('anna-1', anna), naming('anna-2', anna)]);
        await store.append('customer-bert', [naming('bert-1', bert)]);
        await store.append('organisation', [naming('both-1', anna, bert), naming('none-1')]);
        await store.append('case-1', [naming('anna-3', anna), naming('bert-2', bert), naming('both-2', bert, anna)]);
        await store.append('customer-anna', [naming('anna-4', anna)]);
      }
      const tags = (events: RecordedEvent[]) => events.map((e) => (e.data as { tag: string }).tag);

      test('returns every event naming the subject, of every stream, in global order, whole', async () => {
        await withStore(async (store) => {
          await appendMixedHistory(store);
          const all = await readEverything(store);
          const annas = await store.readBySubject(anna, { limit: 100 });
          assert.deepEqual(tags(annas), ['anna-1', 'anna-2', 'both-1', 'anna-3', 'both-2', 'anna-4']);
          assert.deepEqual(annas, all.filter((e) => e.metadata.subjectIds.includes(anna)), 'the same events readAll returns');
          assert.deepEqual(
            annas.map((e) => e.streamId),
            ['customer-anna', 'customer-anna', 'organisation', 'case-1', 'case-1', 'customer-anna'],
          );
          assert.deepEqual(tags(await store.readBySubject(bert, { limit: 100 })), ['bert-1', 'both-1', 'bert-2', 'both-2']);
          // Without a limit the adapter picks the page size: a non-empty prefix of the same order.
          const firstPage = await store.readBySubject(anna);
          assert.ok(firstPage.length >= 1);
          assert.deepEqual(firstPage, annas.slice(0, firstPage.length));
        });
      });

      test('pages with after and limit, positions strictly increasing', async () => {
        await withStore(async (store) => {
          await appendMixedHistory(store);
          const whole = await store.readBySubject(anna, { limit: 100 });
          const paged: RecordedEvent[] = [];
          for (;;) {
            const page = await store.readBySubject(anna, { after: paged.at(-1)?.globalPosition ?? 0, limit: 2 });
            assert.ok(page.length <= 2, 'a page holds at most limit events');
            if (page.length === 0) break;
            paged.push(...page);
          }
          assert.deepEqual(paged, whole);
          for (let i = 1; i < paged.length; i++) assert.ok(paged[i]!.globalPosition > paged[i - 1]!.globalPosition);
          const third = whole[2]!.globalPosition;
          assert.deepEqual(tags(await store.readBySubject(anna, { after: third, limit: 2 })), ['anna-3', 'both-2']);
          assert.deepEqual(await store.readBySubject(anna, { after: whole.at(-1)!.globalPosition }), []);
          assert.deepEqual(await store.readBySubject(anna, { limit: 0 }), []);
        });
      });

      test('is empty for an unknown subject and for an empty store', async () => {
        await withStore(async (store) => {
          assert.deepEqual(await store.readBySubject(anna), []);
          await appendMixedHistory(store);
          assert.deepEqual(await store.readBySubject(nobody), []);
        });
      });

      test('an event naming the subject twice is returned once; a refused append leaves no trace', async () => {
        await withStore(async (store) => {
          await store.append('s', [naming('twice', anna, anna)]);
          await assert.rejects(store.append('s', [naming('refused', anna)], { expectedVersion: 0 }), WrongExpectedVersion);
          await store.append('t', [naming('after', anna)]);
          const annas = await store.readBySubject(anna);
          assert.deepEqual(tags(annas), ['twice', 'after']);
          assert.deepEqual(annas.map((e) => e.globalPosition), [1, 2]);
        });
      });

      test('concurrent appends naming the subject are all found, in global order', async () => {
        await withStore(async (store) => {
          await Promise.all(
            Array.from({ length: 12 }, (_, i) =>
              store.append(`s-${i % 4}`, [naming(`w${i}`, i % 3 === 0 ? bert : anna), naming(`x${i}`, nobody)]),
            ),
          );
          const all = await readEverything(store);
          const annas = await store.readBySubject(anna, { limit: 1000 });
          assert.deepEqual(annas, all.filter((e) => e.metadata.subjectIds.includes(anna)));
          assert.equal(annas.length, 8);
        });
      });

      test(
        'survives closing and reopening the store',
        { skip: harness.crashWriter ? false : 'the harness cannot reopen a store (no crashWriter opener)' },
        async () => {
          const reopen = harness.crashWriter;
          if (!reopen) return;
          const locator = await reopen.freshLocator();
          const first = await openStoreWith(reopen, locator);
          let before: RecordedEvent[];
          try {
            await appendMixedHistory(first);
            before = await first.readBySubject(anna, { limit: 100 });
          } finally {
            await first.close();
          }
          await withOpened(
            () => openStoreWith(reopen, locator),
            async (again) => {
              assert.deepEqual(await again.readBySubject(anna, { limit: 100 }), before);
              await again.append('customer-anna', [naming('anna-5', anna)]);
              assert.deepEqual(tags(await again.readBySubject(anna, { limit: 100 })).slice(-2), ['anna-4', 'anna-5']);
            },
          );
        },
      );
    });

    describe('subscribe', () => {
      test('subscribers started before and during concurrent writes see every event once, in order, gap-free', async () => {
        await withStore(async (store) => {
          await store.append('before', probeEvents(3));
          const early = probeSubscription(store);
          const fromThree = probeSubscription(store, 3);
          const late: ReturnType<typeof probeSubscription>[] = [];
          const writers = 5;
          const appendsPerWriter = 12;
          await Promise.all(
            Array.from({ length: writers }, async (_, w) => {
              for (let i = 0; i < appendsPerWriter; i++) {
                await store.append(`live-${w % 3}`, probeEvents(1 + Math.floor(Math.random() * 4), `w${w}`), {
                  expectedVersion: 'any',
                });
                if (w === 0 && i === 3) late.push(probeSubscription(store));
                if (w === 1 && i === 7) late.push(probeSubscription(store, 10));
              }
            }),
          );
          const stored = await readEverything(store);
          const head = await store.headPosition();
          assert.equal(stored.length, head);

          for (const probe of [early, fromThree, ...late]) {
            await within(probe.reached(head), WAIT_MS, `subscriber after ${probe.after} reaches ${head}`);
            probe.abort();
            await within(probe.ended, WAIT_MS, 'the subscription ends on abort');
            probe.events.forEach((e, i) =>
              assert.equal(e.globalPosition, probe.after + i + 1, 'strictly increasing, no gap, no duplicate'),
            );
            assert.deepEqual(
              probe.events.map((e) => e.eventId),
              stored.slice(probe.after).map((e) => e.eventId),
              'exactly the stored events after the start position',
            );
          }
        });
      });

      test('a caught-up subscriber receives new commits and ends on abort while idle', async () => {
        await withStore(async (store) => {
          await store.append('s', probeEvents(2));
          const probe = probeSubscription(store);
          await within(probe.reached(2), WAIT_MS, 'catch-up');
          await sleep(50);
          await store.append('s', probeEvents(1, 'live'));
          await within(probe.reached(3), WAIT_MS, 'live event arrives');
          assert.deepEqual(probe.events.at(-1)?.data, { tag: 'live', n: 0 });
          probe.abort();
          await within(probe.ended, WAIT_MS, 'idle subscription ends on abort');
          await store.append('s', probeEvents(1, 'after-abort'));
          await sleep(50);
          assert.equal(probe.events.length, 3, 'nothing is delivered after the abort');
        });
      });

      test('a subscription whose signal is already aborted yields nothing', async () => {
        await withStore(async (store) => {
          await store.append('s', probeEvents(2));
          const probe = probeSubscription(store, 0, AbortSignal.abort());
          await within(probe.ended, WAIT_MS, 'an aborted subscription ends at once');
          assert.deepEqual(probe.events, []);
        });
      });

      test('close() ends live subscriptions', async () => {
        const store = await harness.open();
        let probe: ReturnType<typeof probeSubscription> | undefined;
        try {
          await store.append('s', probeEvents(1));
          probe = probeSubscription(store);
          await within(probe.reached(1), WAIT_MS, 'catch-up');
        } finally {
          await store.close();
        }
        await within(probe.ended, WAIT_MS, 'the subscription ends when the store closes');
      });
    });

    describe('crash safety', () => {
      const crashWriter = harness.crashWriter;
      test(
        'a writer killed mid-flight leaves whole batches, gap-free positions, and every acknowledged batch',
        { skip: crashWriter ? false : 'the harness has no crashWriter', timeout: 120_000 },
        async () => {
          if (!crashWriter) return;
          const opener = { module: crashWriter.module, exportName: crashWriter.exportName };
          const locator = await crashWriter.freshLocator();
          const acknowledged: CommittedBatch[] = [];
          let survivors: RecordedEvent[] = [];
          // Several rounds on one store: each later round also starts from a crashed store.
          for (let round = 0; round < 4; round++) {
            acknowledged.push(
              ...(await killWriterMidFlight(
                { opener, locator, writers: 4 },
                2 + Math.floor(Math.random() * 20),
                Math.floor(Math.random() * 25),
              )),
            );
            const store = await openStoreWith(opener, locator);
            try {
              const events = await readEverything(store);
              assert.equal(await store.headPosition(), events.length);
              assertCrashSurvivorsWhole(events, acknowledged);
              assert.deepEqual(
                events.slice(0, survivors.length).map((e) => e.eventId),
                survivors.map((e) => e.eventId),
                'what survived an earlier crash is still there, unchanged',
              );
              assert.ok(events.length > survivors.length, 'the writer wrote before it was killed');
              // The crashed store takes appends again, right after the last surviving event.
              const after: AppendResult = await store.append(`after-crash-${round}`, probeEvents(2));
              assert.equal(after.firstPosition, events.length + 1);
              survivors = await readEverything(store);
            } finally {
              await store.close();
            }
          }
        },
      );
    });
  });
}
