/**
 * The EventStore contract against a real EventStoreDB (or KurrentDB) server named by
 * CRM_ESDB_URL, e.g. `CRM_ESDB_URL=esdb://localhost:2113?tls=false npm test`. Without it every
 * case here is reported as not run, by name. Each store is a random stream prefix of its own
 * on the one server, so runs never see each other's events.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { EventStoreDBClient, FORWARDS, START } from '@eventstore/db-client';
// By path, not by package, like the other adapters' specs.
import { eventStoreContract } from '../../../test/src/contracts/index.ts';
import { probeEvent, probeEvents, readEverything } from '../../../test/src/contracts/event-store-fixtures.ts';
import { engineEnv, needs } from '../../../test/src/support/engines.ts';
import { openEventStoreDbEventStore } from './eventstoredb-event-store.ts';
import { randomStreamPrefix } from './names.ts';

const url = engineEnv.esdbUrl ?? '';
const locator = (tag: string) => ({ connectionString: url, streamPrefix: randomStreamPrefix(tag) });

describe('EventStoreDB event store', needs('eventstoredb'), () => {
  eventStoreContract('eventstoredb', {
    open: async () => openEventStoreDbEventStore(locator('it')),
    crashWriter: {
      module: fileURLToPath(new URL('./eventstoredb-event-store.ts', import.meta.url)),
      exportName: 'openEventStoreDbEventStore',
      freshLocator: async () => locator('crash'),
    },
  });

  eventStoreContract('eventstoredb, 3-event pages', {
    open: async () => openEventStoreDbEventStore({ ...locator('it3'), batchSize: 3, positionCacheSize: 2 }),
  });

  describe('on the server', { timeout: 60_000 }, () => {
    test('streams hold the payload as given, clear metadata with schemaVersion, 0-based revisions', async () => {
      const options = locator('raw');
      const store = openEventStoreDbEventStore(options);
      const client = EventStoreDBClient.connectionString(url);
      try {
        const event = probeEvent({ sealed: 'v1.k1.AAAA', amount: 3 }, { subjectIds: ['01900000-0000-7000-8000-00000000000b'] });
        await store.append('case-1', [event, ...probeEvents(1)], { expectedVersion: 'no-stream' });
        const raw = [];
        for await (const resolved of client.readStream(`${options.streamPrefix}case-1`, { direction: FORWARDS, fromRevision: START })) {
          raw.push(resolved.event);
        }
        assert.equal(raw.length, 2);
        assert.equal(raw[0]?.revision, 0n);
        assert.equal(raw[0]?.id, event.eventId);
        assert.equal(raw[0]?.isJson, true);
        assert.deepEqual(raw[0]?.data, event.data);
        assert.deepEqual(raw[0]?.metadata, { ...event.metadata, schemaVersion: 1 });
        assert.equal(raw[1]?.revision, 1n);
      } finally {
        await store.close();
        await client.dispose();
      }
    });

    test('two stores on one prefix (two processes) link each event once and agree on positions', async () => {
      const options = locator('two');
      const a = openEventStoreDbEventStore(options);
      const b = openEventStoreDbEventStore(options);
      try {
        await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).append(`s-${i % 3}`, probeEvents(1 + (i % 4)))));
        const seenByA = await readEverything(a);
        assert.deepEqual(await readEverything(b), seenByA);
        seenByA.forEach((e, i) => assert.equal(e.globalPosition, i + 1));
        assert.equal(new Set(seenByA.map((e) => e.eventId)).size, seenByA.length);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
