import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
// By path, not by package: @crm/test depends on @crm/sqlite, and a dependency back would be a cycle.
import { checkpointStoreContract } from '../../../test/src/contracts/checkpoint-store.contract.ts';
import { openSqliteCheckpointStore } from './sqlite-checkpoint-store.ts';
import { openSqliteEventStore } from './sqlite-event-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'crm-sqlite-checkpoints-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const freshPath = () => join(dir, `${randomUUID()}.db`);

checkpointStoreContract('sqlite', {
  async freshPlace() {
    const path = freshPath();
    return async () => openSqliteCheckpointStore({ path });
  },
});

describe('SQLite checkpoint store', () => {
  test('shares the event store file: both work side by side and the events survive a reopen', async () => {
    const path = freshPath();
    const events = openSqliteEventStore({ path });
    const checkpoints = openSqliteCheckpointStore({ path });
    try {
      const appended = await events.append('s', [
        { eventId: randomUUID(), type: 'ProbeRecorded', schemaVersion: 1, data: {}, metadata: { subjectIds: [] } },
      ]);
      await checkpoints.store('relay', appended.lastPosition);
      assert.equal(await checkpoints.load('relay'), 1);
    } finally {
      await checkpoints.close();
      await events.close();
    }
    // The event store's migrations still recognise the file, and the checkpoint is still there.
    const reopened = openSqliteEventStore({ path });
    const again = openSqliteCheckpointStore({ path });
    try {
      assert.equal(await reopened.headPosition(), 1);
      assert.equal(await again.load('relay'), 1);
    } finally {
      await again.close();
      await reopened.close();
    }
  });
});
