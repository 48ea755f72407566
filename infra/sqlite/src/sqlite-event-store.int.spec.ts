import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { WrongExpectedVersion } from '@crm/core';
// By path, not by package: @crm/test depends on @crm/sqlite, and a dependency back would be a cycle.
import { eventStoreContract, groupCommitContract } from '../../../test/src/contracts/index.ts';
import { probeEvent, probeEvents, within } from '../../../test/src/contracts/event-store-fixtures.ts';
import { openEventStoreConnection } from './connection.ts';
import { openSqliteEventStore, type SqliteCommitInfo } from './sqlite-event-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'crm-sqlite-event-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const freshPath = () => join(dir, `${randomUUID()}.db`);

eventStoreContract('sqlite', {
  open: async () => openSqliteEventStore({ path: freshPath() }),
  crashWriter: {
    module: fileURLToPath(new URL('./sqlite-event-store.ts', import.meta.url)),
    exportName: 'openSqliteEventStore',
    freshLocator: async () => ({ path: freshPath() }),
  },
});

// Again with tiny pages and transactions, so paging in readAll/subscribe and multi-transaction
// group commits run under the whole contract too.
const tiny = { batchSize: 3, maxAppendsPerCommit: 4 };
eventStoreContract('sqlite, 3-event pages, 4 appends per commit', {
  open: async () => openSqliteEventStore({ path: freshPath(), ...tiny }),
  crashWriter: {
    module: fileURLToPath(new URL('./sqlite-event-store.ts', import.meta.url)),
    exportName: 'openSqliteEventStore',
    freshLocator: async () => ({ path: freshPath(), ...tiny }),
  },
});

groupCommitContract('sqlite', { open: async (options) => openSqliteEventStore({ path: freshPath(), ...options }) });

describe('SQLite event store', { timeout: 30_000 }, () => {
  test('group commit: appends made in one tick share one transaction', async () => {
    const commits: SqliteCommitInfo[] = [];
    const store = openSqliteEventStore({ path: freshPath(), onCommit: (c) => commits.push(c) });
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.append(`s-${i}`, probeEvents(2), { expectedVersion: 'no-stream' })),
      );
      assert.equal(results.length, 50);
      await new Promise((resolve) => setImmediate(resolve)); // onCommit runs off the commit path
      assert.ok(commits.length < 50, `50 appends took ${commits.length} transactions`);
      assert.equal(commits.reduce((sum, c) => sum + c.appends, 0), 50);
      assert.equal(await store.headPosition(), 100);
    } finally {
      await store.close();
    }
  });

  test('a duplicate event id fails only its own append', async () => {
    const store = openSqliteEventStore({ path: freshPath() });
    try {
      const [first] = probeEvents(1);
      assert.ok(first);
      await store.append('s', [first]);
      const [dup, ok] = await Promise.allSettled([
        store.append('t', [...probeEvents(2), first]),
        store.append('u', probeEvents(1)),
      ]);
      assert.equal(dup?.status, 'rejected');
      assert.equal(ok?.status, 'fulfilled');
      assert.deepEqual(await store.readStream('t'), []);
      assert.equal(await store.headPosition(), 2);
    } finally {
      await store.close();
    }
  });

  test('close() waits for queued appends; the file keeps them and positions continue on reopen', async () => {
    const path = freshPath();
    const store = openSqliteEventStore({ path });
    const pending = store.append('s', probeEvents(3));
    await store.close();
    assert.equal((await pending).lastPosition, 3);
    await assert.rejects(store.append('s', probeEvents(1)), /closed/);
    await assert.rejects(store.readAll(), /closed/);

    const reopened = openSqliteEventStore({ path });
    try {
      assert.equal(await reopened.headPosition(), 3);
      await assert.rejects(reopened.append('s', probeEvents(1), { expectedVersion: 0 }), WrongExpectedVersion);
      assert.equal((await reopened.append('s', probeEvents(1), { expectedVersion: 3 })).firstPosition, 4);
    } finally {
      await reopened.close();
    }
  });

  test('durable (default) syncs FULL, durable: false syncs NORMAL; both use WAL and the page cache they are given', () => {
    for (const [durable, synchronous] of [[true, 2], [false, 1]] as const) {
      const db = openEventStoreConnection({ path: freshPath(), durable, busyTimeoutMs: 1000, cacheKiB: 3000 });
      try {
        assert.equal(db.pragma('synchronous', { simple: true }), synchronous);
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
        assert.equal(db.pragma('busy_timeout', { simple: true }), 1000);
        assert.equal(db.pragma('cache_size', { simple: true }), -3000);
      } finally {
        db.close();
      }
    }
  });

  test('durable: false stores and reads back like the default', async () => {
    const path = freshPath();
    const store = openSqliteEventStore({ path, durable: false });
    await store.append('s', probeEvents(2));
    await store.close();
    const reopened = openSqliteEventStore({ path, durable: false });
    try {
      assert.deepEqual((await reopened.readStream('s')).map((e) => e.streamVersion), [1, 2]);
    } finally {
      await reopened.close();
    }
  });

  test('two stores on one file: expectations hold across them and polling sees the other writer', async () => {
    const path = freshPath();
    const reader = openSqliteEventStore({ path, pollIntervalMs: 20 });
    const writer = openSqliteEventStore({ path });
    const controller = new AbortController();
    try {
      const seen: number[] = [];
      const subscription = (async () => {
        for await (const event of reader.subscribe({ signal: controller.signal })) {
          seen.push(event.globalPosition);
          if (seen.length === 3) controller.abort();
        }
      })();
      await writer.append('s', probeEvents(2), { expectedVersion: 'no-stream' });
      await assert.rejects(reader.append('s', probeEvents(1), { expectedVersion: 'no-stream' }), WrongExpectedVersion);
      await reader.append('s', probeEvents(1), { expectedVersion: 2 });
      await within(subscription, 5_000, 'polling sees the append of the other store');
      assert.deepEqual(seen, [1, 2, 3]);
    } finally {
      controller.abort();
      await reader.close();
      await writer.close();
    }
  });

  test('a commit in this process wakes its subscribers without waiting for the poll', async () => {
    // An hour-long poll: only the in-process commit signal can deliver the live event.
    const store = openSqliteEventStore({ path: freshPath(), pollIntervalMs: 3_600_000 });
    const controller = new AbortController();
    try {
      const subscription = (async () => {
        const seen: number[] = [];
        for await (const event of store.subscribe({ signal: controller.signal })) {
          seen.push(event.globalPosition);
          if (seen.length === 2) return seen;
        }
        return seen;
      })();
      await store.append('s', probeEvents(1));
      await new Promise((resolve) => setTimeout(resolve, 20)); // let the subscriber go idle
      await store.append('s', probeEvents(1));
      assert.deepEqual(await within(subscription, 5_000, 'the live event arrives'), [1, 2]);
    } finally {
      controller.abort();
      await store.close();
    }
  });

  test('migration 2 indexes the subjects of events written before it', async () => {
    const path = freshPath();
    const anna = '01900000-0000-7000-8000-00000000a001';
    const bert = '01900000-0000-7000-8000-00000000b002';
    const store = openSqliteEventStore({ path });
    await store.append('a', [probeEvent({ n: 1 }, { subjectIds: [anna] }), probeEvent({ n: 2 }, { subjectIds: [bert, anna] })]);
    await store.append('b', [probeEvent({ n: 3 }, { subjectIds: [bert] }), probeEvent({ n: 4 })]);
    await store.close();
    // Back to a file as schema version 1 left it: no index.
    const db = new Database(path);
    try {
      db.exec('DROP TABLE event_subjects');
      db.pragma('user_version = 1');
    } finally {
      db.close();
    }
    const migrated = openSqliteEventStore({ path });
    try {
      assert.deepEqual((await migrated.readBySubject(anna)).map((e) => e.globalPosition), [1, 2]);
      assert.deepEqual((await migrated.readBySubject(bert)).map((e) => e.globalPosition), [2, 3]);
      await migrated.append('c', [probeEvent({ n: 5 }, { subjectIds: [anna] })]);
      assert.deepEqual((await migrated.readBySubject(anna)).map((e) => e.globalPosition), [1, 2, 5]);
    } finally {
      await migrated.close();
    }
    const check = new Database(path, { readonly: true });
    try {
      assert.equal(check.pragma('user_version', { simple: true }), 2);
    } finally {
      check.close();
    }
  });

  test('the events table is append-only', async () => {
    const path = freshPath();
    const store = openSqliteEventStore({ path });
    await store.append('s', [...probeEvents(2), probeEvent({}, { subjectIds: ['01900000-0000-7000-8000-00000000a001'] })]);
    await store.close();
    const db = new Database(path);
    try {
      assert.throws(() => db.prepare('DELETE FROM events').run(), /append-only/);
      assert.throws(() => db.prepare("UPDATE events SET type = 'x'").run(), /append-only/);
      assert.throws(() => db.prepare('DELETE FROM event_subjects').run(), /append-only/);
    } finally {
      db.close();
    }
  });
});
