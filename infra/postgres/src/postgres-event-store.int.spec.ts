import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { WrongExpectedVersion } from '@crm/core';
// By path, like the SQLite specs: @crm/test depends on the adapters, a dependency back would be a cycle.
import { eventStoreContract, groupCommitContract } from '../../../test/src/contracts/index.ts';
import {
  probeEvent,
  probeEvents,
  probeSubscription,
  readEverything,
  sleep,
  within,
} from '../../../test/src/contracts/event-store-fixtures.ts';
import { engineEnv, needs } from '../../../test/src/support/engines.ts';
import { LOCK_SPACE, lockKey } from './advisory-locks.ts';
import {
  openPostgresEventStore,
  type PostgresCommitInfo,
  type PostgresEventStore,
  type PostgresEventStoreOptions,
} from './postgres-event-store.ts';
import { testSchemas } from './test-schemas.ts';

const url = engineEnv.postgresUrl ?? '';
const MODULE = fileURLToPath(new URL('./postgres-event-store.ts', import.meta.url));

describe('postgres event store', needs('postgres'), () => {
  const schemas = testSchemas(url);
  after(() => schemas.dropAll());
  const open = (options: Partial<PostgresEventStoreOptions> = {}) =>
    openPostgresEventStore({ connectionString: url, schema: schemas.fresh(), ...options });

  groupCommitContract('postgres', {
    // Migrated first, so that every transaction the suite counts is one of its own batches.
    open: async (options) => {
      const store = open(options);
      await store.ready.catch(async (error: unknown) => {
        await store.close();
        throw error;
      });
      return store;
    },
  });

  eventStoreContract('postgres', {
    open: async () => open(),
    crashWriter: {
      module: MODULE,
      exportName: 'openPostgresEventStore',
      freshLocator: async () => ({ connectionString: url, schema: schemas.fresh() }),
    },
  });

  // Again with tiny pages and transactions, so paging in readAll/subscribe and multi-transaction
  // group commits run under the whole contract too.
  const tiny = { batchSize: 3, maxAppendsPerCommit: 4 };
  eventStoreContract('postgres, 3-event pages, 4 appends per commit', {
    open: async () => open(tiny),
    crashWriter: {
      module: MODULE,
      exportName: 'openPostgresEventStore',
      freshLocator: async () => ({ connectionString: url, schema: schemas.fresh(), ...tiny }),
    },
  });

  describe('PostgreSQL event store', { timeout: 60_000 }, () => {
    /** Several stores on one schema: what several processes sharing one database look like. */
    async function onOneSchema<T>(
      count: number,
      options: (i: number) => Partial<PostgresEventStoreOptions>,
      use: (stores: PostgresEventStore[], schema: string) => Promise<T>,
    ): Promise<T> {
      const schema = schemas.fresh();
      const stores = Array.from({ length: count }, (_, i) =>
        openPostgresEventStore({ connectionString: url, schema, ...options(i) }),
      );
      try {
        return await use(stores, schema);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    }

    test('group commit: appends made in one tick share one transaction', async () => {
      const commits: PostgresCommitInfo[] = [];
      const store = open({ onCommit: (c) => commits.push(c) });
      try {
        await store.ready;
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => store.append(`s-${i}`, probeEvents(2), { expectedVersion: 'no-stream' })),
        );
        assert.equal(results.length, 50);
        await new Promise((resolve) => setImmediate(resolve)); // onCommit runs off the commit path
        assert.equal(commits.length, 1, `50 appends of one tick took ${commits.length} transactions`);
        assert.deepEqual(commits[0], { appends: 50, failed: 0, events: 100 });
        assert.equal(await store.headPosition(), 100);
      } finally {
        await store.close();
      }
    });

    test('rows the database refuses fail only their own append, in the same batch as good ones', async () => {
      const commits: PostgresCommitInfo[] = [];
      const store = open({ onCommit: (c) => commits.push(c) });
      try {
        const [first] = probeEvents(1);
        assert.ok(first);
        await store.append('s', [first]);
        const nul = { ...probeEvents(1, 'nul')[0]!, metadata: { subjectIds: [], actor: 'a\u0000b' } };
        const [duplicate, ok1, refused, sameBatchDuplicate, ok2] = await Promise.allSettled([
          store.append('t', [...probeEvents(2), first]), // an event id stored before
          store.append('u', probeEvents(1, 'ok1')),
          store.append('v', [nul]), // jsonb cannot hold \u0000: the metadata column refuses it
          store.append('w', [probeEvents(1)[0]!, { ...probeEvents(1)[0]!, eventId: first.eventId }]),
          store.append('u', probeEvents(1, 'ok2'), { expectedVersion: 1 }),
        ]);
        assert.equal(duplicate.status, 'rejected');
        assert.equal(refused.status, 'rejected');
        assert.equal(sameBatchDuplicate.status, 'rejected');
        assert.equal(ok1.status, 'fulfilled');
        assert.equal(ok2.status, 'fulfilled');
        const all = await readEverything(store);
        assert.deepEqual(all.map((e) => [e.streamId, e.globalPosition]), [['s', 1], ['u', 2], ['u', 3]]);
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(commits.at(-1), { appends: 5, failed: 3, events: 2 }, 'one transaction for the whole batch');
      } finally {
        await store.close();
      }
    });

    test('data comes back byte for byte: key order, \\u0000 and large numbers as written', async () => {
      const store = open();
      try {
        const data = { z: 1, a: 'nul \u0000 inside', m: [3, 2, 1], big: 12345678901234567, tiny: 5e-324, neg: -0.5 };
        await store.append('s', [{ ...probeEvents(1)[0]!, data }]);
        const [read] = await store.readStream('s');
        assert.deepEqual(read?.data, data);
        assert.deepEqual(Object.keys(read?.data as object), ['z', 'a', 'm', 'big', 'tiny', 'neg']);
      } finally {
        await store.close();
      }
    });

    /** Resolves once some session waits for the event log lock of `schema`. */
    async function waitingForEventLogLock(schema: string): Promise<void> {
      for (;;) {
        const { rows } = await schemas.query(
          `SELECT 1 FROM pg_locks
           WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND classid = $1::bigint::oid AND objid = ($2::bigint & 4294967295)::oid AND objsubid = 2`,
          [LOCK_SPACE.eventLog, lockKey(schema)],
        );
        if (rows.length > 0) return;
        await sleep(10);
      }
    }

    test('a writer stalled before COMMIT holds back every later writer: no subscriber skips its events', async () => {
      let stall: (() => void) | undefined;
      const stalled = new Promise<void>((resolve) => (stall = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const stallOnce = async () => {
        stall?.();
        stall = undefined;
        await released;
      };
      await onOneSchema(
        3,
        (i) => (i === 0 ? { beforeCommit: stallOnce } : { pollIntervalMs: 20 }),
        async ([slow, fast, reader], schema) => {
          assert.ok(slow && fast && reader);
          await fast.append('before', probeEvents(2));
          const probe = probeSubscription(reader);
          await within(probe.reached(2), 10_000, 'catch-up');

          // The slow writer holds positions 3..5, written but not committed.
          const slowAppend = slow.append('slow', probeEvents(3, 'slow'));
          let fastAppend: Promise<{ firstPosition: number }> | undefined;
          // Released in any case, so that a failing assertion cannot leave close() waiting on the stall.
          try {
            await within(stalled, 10_000, 'the slow writer reaches its COMMIT');
            // A writer that began later: with positions from a sequence it would commit 6..7
            // first, and a subscriber reading 6..7 would never come back for 3..5.
            let fastDone = false;
            fastAppend = fast.append('fast', probeEvents(2, 'fast')).finally(() => (fastDone = true));
            await within(waitingForEventLogLock(schema), 10_000, 'the later writer queues on the event log lock');
            assert.equal(fastDone, false);
            await sleep(50);
            assert.equal(probe.events.length, 2, 'nothing past the stalled positions is visible');
          } finally {
            release();
          }
          assert.deepEqual(await slowAppend, { streamId: 'slow', nextExpectedVersion: 3, firstPosition: 3, lastPosition: 5 });
          assert.equal((await fastAppend).firstPosition, 6, 'the later writer takes the positions after the stalled one');
          await within(probe.reached(7), 10_000, 'the subscriber sees every event');
          probe.abort();
          await probe.ended;
          assert.deepEqual(probe.events.map((e) => e.globalPosition), [1, 2, 3, 4, 5, 6, 7]);
          assert.deepEqual(probe.events.map((e) => e.streamId), ['before', 'before', 'slow', 'slow', 'slow', 'fast', 'fast']);
        },
      );
    });

    test('a batch rolled back before COMMIT leaves no hole: the next writer takes its positions', async () => {
      let failNext = true;
      await onOneSchema(
        2,
        (i) =>
          i === 0
            ? {
                beforeCommit: () => {
                  if (failNext) throw new Error('writer died before COMMIT');
                },
              }
            : { pollIntervalMs: 20 },
        async ([dying, other]) => {
          assert.ok(dying && other);
          await other.append('s', probeEvents(1));
          const probe = probeSubscription(other);
          await assert.rejects(dying.append('doomed', probeEvents(3)), /died before COMMIT/);
          failNext = false;
          assert.equal((await other.append('s', probeEvents(1))).firstPosition, 2);
          assert.equal((await dying.append('t', probeEvents(1))).firstPosition, 3);
          await within(probe.reached(3), 10_000, 'subscriber sees the events after the rollback');
          probe.abort();
          await probe.ended;
          assert.deepEqual(probe.events.map((e) => e.globalPosition), [1, 2, 3]);
          assert.deepEqual(await other.readStream('doomed'), []);
        },
      );
    });

    test('several stores appending at once (like several processes): subscribers see every event once, in order', async () => {
      await onOneSchema(4, () => ({ pollIntervalMs: 50, batchSize: 7 }), async ([reader, ...writers]) => {
        assert.ok(reader);
        const probes = [probeSubscription(reader), probeSubscription(reader, 0)];
        await Promise.all(
          writers.map(async (writer, w) => {
            for (let i = 0; i < 15; i++) {
              await Promise.all([
                writer.append(`w${w}`, probeEvents(1 + (i % 3), `w${w}`)),
                writer.append(`shared`, probeEvents(1, `w${w}`)),
              ]);
            }
          }),
        );
        const stored = await readEverything(reader);
        const head = await reader.headPosition();
        assert.equal(stored.length, head);
        stored.forEach((e, i) => assert.equal(e.globalPosition, i + 1));
        for (const probe of probes) {
          await within(probe.reached(head), 10_000, `subscriber reaches ${head}`);
          probe.abort();
          await probe.ended;
          assert.deepEqual(probe.events.map((e) => e.eventId), stored.map((e) => e.eventId));
        }
        const shared = await reader.readStream('shared');
        assert.deepEqual(shared.map((e) => e.streamVersion), Array.from({ length: 45 }, (_, i) => i + 1));
      });
    });

    test("another store's commit wakes a subscriber through NOTIFY, not the poll", async () => {
      // An hour-long poll: only the notification can deliver the live event in time.
      await onOneSchema(2, (i) => (i === 0 ? { pollIntervalMs: 3_600_000 } : {}), async ([reader, writer]) => {
        assert.ok(reader && writer);
        await writer.append('s', probeEvents(1));
        const probe = probeSubscription(reader);
        await within(probe.reached(1), 10_000, 'catch-up');
        // Arrives through NOTIFY or through the signal the listener raises once its LISTEN is
        // in place: either way, after this the listener is up and only NOTIFY can deliver.
        await writer.append('s', probeEvents(1, 'warm-up'));
        await within(probe.reached(2), 10_000, 'the listener is up');
        await sleep(50); // idle, waiting
        await writer.append('s', probeEvents(1, 'live'));
        await within(probe.reached(3), 10_000, 'the live event arrives');
        probe.abort();
        await probe.ended;
      });
    });

    test('the LISTEN connection comes back after the server drops it, and announces what was missed', async () => {
      const schema = schemas.fresh();
      const reader = openPostgresEventStore({ connectionString: url, schema, pollIntervalMs: 3_600_000 });
      const writer = openPostgresEventStore({ connectionString: url, schema });
      try {
        await writer.append('s', probeEvents(1));
        const probe = probeSubscription(reader);
        await within(probe.reached(1), 10_000, 'catch-up');
        // Delivered without a poll: the LISTEN connection is up (not merely connecting).
        await writer.append('s', probeEvents(1, 'warm-up'));
        await within(probe.reached(2), 10_000, 'the listener is up');
        const killed = await schemas.query<{ killed: boolean }>(
          'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1',
          [`crm-listen:${schema}`],
        );
        assert.deepEqual(killed.rows, [{ killed: true }], 'one LISTEN connection was there to drop');
        // Appended while nobody listens: only the reconnect's own signal can deliver it.
        await writer.append('s', probeEvents(1, 'missed'));
        await within(probe.reached(3), 10_000, 'the event appended during the outage arrives');
        await writer.append('s', probeEvents(1, 'live'));
        await within(probe.reached(4), 10_000, 'notifications flow again');
        probe.abort();
        await probe.ended;
      } finally {
        await reader.close();
        await writer.close();
      }
    });

    test('close() waits for queued appends; positions continue after a reopen', async () => {
      const schema = schemas.fresh();
      const store = openPostgresEventStore({ connectionString: url, schema });
      const pending = store.append('s', probeEvents(3));
      await store.close();
      assert.equal((await pending).lastPosition, 3);
      await assert.rejects(store.append('s', probeEvents(1)), /closed/);
      await assert.rejects(store.readAll(), /closed/);

      const reopened = openPostgresEventStore({ connectionString: url, schema });
      try {
        assert.equal(await reopened.headPosition(), 3);
        await assert.rejects(reopened.append('s', probeEvents(1), { expectedVersion: 0 }), WrongExpectedVersion);
        assert.equal((await reopened.append('s', probeEvents(1), { expectedVersion: 3 })).firstPosition, 4);
      } finally {
        await reopened.close();
      }
    });

    test('stores opening a new schema at once migrate it once', async () => {
      await onOneSchema(5, () => ({}), async (stores) => {
        await Promise.all(stores.map((s) => s.ready));
        const results = await Promise.all(stores.map((s, i) => s.append(`s${i}`, probeEvents(1))));
        assert.deepEqual(results.map((r) => r.firstPosition).sort(), [1, 2, 3, 4, 5]);
      });
    });

    test('refuses a schema migrated by newer code, and a schema name it cannot quote safely', async () => {
      const schema = schemas.fresh();
      const first = openPostgresEventStore({ connectionString: url, schema });
      await first.ready;
      await first.close();
      await schemas.query(`UPDATE "${schema}".schema_migrations SET version = 99 WHERE component = 'event-store'`);
      const newer = openPostgresEventStore({ connectionString: url, schema });
      try {
        await assert.rejects(newer.ready, /newer than this code knows/);
        await assert.rejects(newer.append('s', probeEvents(1)), /newer than this code knows/);
      } finally {
        await newer.close();
      }
      for (const bad of ['Events', 'crm-events', 'x"; DROP SCHEMA public; --', '', '9lives', 'a'.repeat(49)]) {
        assert.throws(() => openPostgresEventStore({ connectionString: url, schema: bad }), RangeError, bad);
      }
    });

    test('migration 2 indexes the subjects of events written before it; an insert by older code is indexed too', async () => {
      const schema = schemas.fresh();
      const anna = '01900000-0000-7000-8000-00000000a001';
      const bert = '01900000-0000-7000-8000-00000000b002';
      const store = openPostgresEventStore({ connectionString: url, schema });
      try {
        await store.append('a', [probeEvent({ n: 1 }, { subjectIds: [anna] }), probeEvent({ n: 2 }, { subjectIds: [bert, anna] })]);
        await store.append('b', [probeEvent({ n: 3 }, { subjectIds: [bert] }), probeEvent({ n: 4 })]);
      } finally {
        await store.close();
      }
      // Back to the schema as migration 1 left it: no index.
      await schemas.query(
        `DROP TABLE "${schema}".event_subjects; DROP FUNCTION "${schema}".index_event_subjects() CASCADE;
         UPDATE "${schema}".schema_migrations SET version = 1 WHERE component = 'event-store'`,
      );
      const migrated = openPostgresEventStore({ connectionString: url, schema });
      try {
        assert.deepEqual((await migrated.readBySubject(anna)).map((e) => e.globalPosition), [1, 2]);
        assert.deepEqual((await migrated.readBySubject(bert)).map((e) => e.globalPosition), [2, 3]);
        // A process still running code from before the migration inserts rows without
        // knowing the index: the trigger indexes them in its transaction.
        await schemas.query(
          `INSERT INTO "${schema}".events (global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at)
           VALUES (5, 'older-code', 'c', 1, 'ProbeRecorded', 1, '{}', $1, now())`,
          [JSON.stringify({ subjectIds: [anna] })],
        );
        assert.deepEqual((await migrated.readBySubject(anna)).map((e) => e.globalPosition), [1, 2, 5]);
      } finally {
        await migrated.close();
      }
    });

    test('the events table is append-only', async () => {
      const schema = schemas.fresh();
      const store = openPostgresEventStore({ connectionString: url, schema });
      try {
        await store.append('s', [...probeEvents(2), probeEvent({}, { subjectIds: ['01900000-0000-7000-8000-00000000a001'] })]);
      } finally {
        await store.close();
      }
      await assert.rejects(schemas.query(`DELETE FROM "${schema}".events`), /append-only/);
      await assert.rejects(schemas.query(`UPDATE "${schema}".events SET type = 'x'`), /append-only/);
      await assert.rejects(schemas.query(`TRUNCATE "${schema}".events`), /append-only/);
      await assert.rejects(schemas.query(`DELETE FROM "${schema}".event_subjects`), /append-only/);
    });
  });
});
