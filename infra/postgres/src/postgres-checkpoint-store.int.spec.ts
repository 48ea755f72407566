import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
// By path, like the SQLite specs: @crm/test depends on the adapters, a dependency back would be a cycle.
import { checkpointStoreContract } from '../../../test/src/contracts/checkpoint-store.contract.ts';
import { engineEnv, needs } from '../../../test/src/support/engines.ts';
import { openPostgresCheckpointStore } from './postgres-checkpoint-store.ts';
import { openPostgresEventStore } from './postgres-event-store.ts';
import { EVENT_STORE_MIGRATIONS } from './event-store-schema.ts';
import { testSchemas } from './test-schemas.ts';

const url = engineEnv.postgresUrl ?? '';

describe('postgres checkpoint store', needs('postgres'), () => {
  const schemas = testSchemas(url);
  after(() => schemas.dropAll());

  checkpointStoreContract('postgres', {
    async freshPlace() {
      const schema = schemas.fresh();
      return async () => openPostgresCheckpointStore({ connectionString: url, schema });
    },
  });

  it("shares the event store's schema: both migrate side by side, in either order", async () => {
    for (const checkpointsFirst of [true, false]) {
      const schema = schemas.fresh();
      const checkpoints = openPostgresCheckpointStore({ connectionString: url, schema });
      const events = openPostgresEventStore({ connectionString: url, schema });
      try {
        await (checkpointsFirst ? checkpoints.ready : events.ready);
        const appended = await events.append('s', [
          { eventId: randomUUID(), type: 'ProbeRecorded', schemaVersion: 1, data: {}, metadata: { subjectIds: [] } },
        ]);
        await checkpoints.store('relay', appended.lastPosition);
        assert.equal(await checkpoints.load('relay'), 1);
        const { rows } = await schemas.query<{ component: string; version: number }>(
          `SELECT component, version FROM "${schema}".schema_migrations ORDER BY component`,
        );
        assert.deepEqual(rows, [
          { component: 'checkpoints', version: 1 },
          { component: 'event-store', version: EVENT_STORE_MIGRATIONS.length },
        ]);
      } finally {
        await checkpoints.close();
        await events.close();
      }
    }
  });
});
