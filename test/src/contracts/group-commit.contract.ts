/**
 * What every group-committing EventStore adapter (SQLite, PostgreSQL) must show about its
 * batches. Separate from the EventStore contract: batching is not part of the port, and
 * EventStoreDB has none.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventStore } from '@crm/core';
import { probeEvents } from './event-store-fixtures.ts';
import { withOpened } from './with-opened.ts';

/** What an adapter reports after each committed group-commit transaction. */
export interface GroupCommitInfo {
  /** Appends in the transaction. */
  appends: number;
  /** Of those, how many failed on their own (conflict, duplicate key...). */
  failed: number;
}

export interface GroupCommitHarness {
  /** A fresh, empty store with these options, ready to take appends. */
  open(options: { maxAppendsPerCommit?: number; onCommit?(commit: GroupCommitInfo): void }): Promise<EventStore>;
}

export function groupCommitContract(name: string, harness: GroupCommitHarness): void {
  describe(`Group commit contract: ${name}`, () => {
    test('group commit: a batch never exceeds maxAppendsPerCommit and failures are counted', async () => {
      const commits: GroupCommitInfo[] = [];
      await withOpened(
        () => harness.open({ maxAppendsPerCommit: 10, onCommit: (c) => commits.push(c) }),
        async (store) => {
          const settled = await Promise.allSettled(
            Array.from({ length: 25 }, (_, i) => store.append('one', probeEvents(1), { expectedVersion: i === 7 ? 99 : 'any' })),
          );
          await new Promise((resolve) => setImmediate(resolve)); // onCommit runs off the commit path
          assert.equal(settled.filter((s) => s.status === 'rejected').length, 1);
          assert.deepEqual(commits.map((c) => c.appends), [10, 10, 5]);
          assert.deepEqual(commits.map((c) => c.failed), [1, 0, 0]);
          assert.equal((await store.readStream('one')).length, 24);
        },
      );
    });

    test('appends to one stream made in one tick apply in call order', async () => {
      await withOpened(
        () => harness.open({}),
        async (store) => {
          const [a, b, c] = await Promise.all([
            store.append('s', probeEvents(2, 'a'), { expectedVersion: 'no-stream' }),
            store.append('s', probeEvents(1, 'b'), { expectedVersion: 2 }),
            store.append('s', probeEvents(1, 'c'), { expectedVersion: 3 }),
          ]);
          assert.deepEqual([a.lastPosition, b.lastPosition, c.lastPosition], [2, 3, 4]);
          assert.deepEqual((await store.readStream('s')).map((e) => (e.data as { tag: string }).tag), ['a', 'a', 'b', 'c']);
        },
      );
    });
  });
}
