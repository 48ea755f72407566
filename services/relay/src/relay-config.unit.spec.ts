import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { loadRelayConfig, RelayConfigError } from './relay-config.ts';

describe('relay configuration', () => {
  test('defaults: the embedded data directory, topic crm.events, batches of 500', () => {
    const config = loadRelayConfig({ CRM_DATA_DIR: '/srv/crm', CRM_BUS: 'kafka://k1:9092,k2:9092' });
    assert.deepEqual(config.eventStore, { kind: 'sqlite', path: '/srv/crm/events.sqlite' });
    assert.deepEqual(config.checkpoints, { kind: 'sqlite', path: '/srv/crm/checkpoints.sqlite' });
    assert.deepEqual(config.kafka, { brokers: ['k1:9092', 'k2:9092'], topic: 'crm.events', clientId: 'crm-relay', partitions: 6, replicationFactor: 1 });
    assert.equal(config.name, 'relay:kafka');
    assert.equal(config.batchSize, 500);
  });

  test('sqlite:<path> for the event store puts the checkpoints beside it', () => {
    const config = loadRelayConfig({ CRM_EVENT_STORE: 'sqlite:/tmp/x/events.db', CRM_BUS: 'kafka://127.0.0.1:1', CRM_RELAY_BATCH_SIZE: '7', CRM_KAFKA_TOPIC: 't1' });
    assert.equal(config.eventStore.path, resolve('/tmp/x/events.db'));
    assert.equal(config.checkpoints.path, resolve('/tmp/x/checkpoints.sqlite'));
    assert.equal(config.batchSize, 7);
    assert.equal(config.kafka.topic, 't1');
  });

  test('refuses: no bus, the memory bus, a bad URL, a bad batch size, another store', () => {
    for (const env of [
      {},
      { CRM_BUS: 'memory' },
      { CRM_BUS: 'kafka://nohost' },
      { CRM_BUS: 'kafka://h:1', CRM_RELAY_BATCH_SIZE: '0' },
      { CRM_BUS: 'kafka://h:1', CRM_EVENT_STORE: 'postgres://x' },
      { CRM_BUS: 'kafka://h:1', CRM_EVENT_STORE: 'sqlite:/a.db', CRM_CHECKPOINT_STORE: 'sqlite:/a.db' },
    ]) {
      assert.throws(() => loadRelayConfig(env), RelayConfigError, JSON.stringify(env));
    }
  });
});
