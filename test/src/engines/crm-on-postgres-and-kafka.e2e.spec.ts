import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { customerStream } from '@crm/domain';
import { readTopic, testKafka, topicRecordCount, waitUntil } from '../bus/kafka-topics.ts';
import { engineEnv, needs } from '../support/engines.ts';
import { type CrmUnderTest, startCrmUnderTest } from '../support/crm-under-test.ts';
import { registerCustomer } from '../support/valid-commands.ts';

describe('the CRM on PostgreSQL and Kafka', needs('postgres', 'kafka'), () => {
  const suffix = randomBytes(6).toString('hex');
  const eventSchema = `crm_e2e_events_${suffix}`;
  const keySchema = `crm_e2e_keys_${suffix}`;
  const topic = `crm.e2e.${suffix}`;
  const marker = `Pg${suffix}`;
  let crm: CrmUnderTest;

  before(async () => {
    crm = await startCrmUnderTest({
      CRM_EVENT_STORE: engineEnv.postgresUrl!,
      CRM_EVENT_STORE_SCHEMA: eventSchema,
      CRM_KEY_STORE: engineEnv.postgresUrl!,
      CRM_KEY_STORE_SCHEMA: keySchema,
      CRM_BUS: engineEnv.kafkaUrl!,
      CRM_KAFKA_TOPIC: topic,
      CRM_KAFKA_PARTITIONS: '3',
    });
  });
  after(async () => {
    await crm?.dispose();
    const client = new pg.Client({ connectionString: engineEnv.postgresUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${eventSchema}" CASCADE; DROP SCHEMA IF EXISTS "${keySchema}" CASCADE;`);
    await client.end();
  });

  test('RegisterCustomer is stored in PostgreSQL, its key in its own schema, and the event reaches the Kafka topic sealed', async () => {
    const answer = await crm.command('RegisterCustomer', registerCustomer(marker), ['sales-rep']);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const subjectId = String(answer.body.subjectId);
    const streamId = customerStream(subjectId);

    const client = new pg.Client({ connectionString: engineEnv.postgresUrl });
    await client.connect();
    try {
      const events = await client.query(`SELECT type, data::text AS data FROM "${eventSchema}".events WHERE stream_id = $1`, [streamId]);
      assert.equal(events.rowCount, 1);
      assert.equal(events.rows[0].type, 'CustomerRegistered');
      assert.ok(!String(events.rows[0].data).includes(marker), 'the stored event holds no plaintext');
      const keys = await client.query(`SELECT count(*)::int AS n FROM "${keySchema}".subject_keys WHERE subject_id = $1`, [subjectId]);
      assert.equal(keys.rows[0].n, 1, 'the subject key lives in the key schema');
    } finally {
      await client.end();
    }

    const kafka = testKafka(engineEnv.kafkaUrl!);
    // The inline relay creates the topic and publishes from its checkpoint, shortly after the commit.
    await waitUntil(async () => (await topicRecordCount(kafka, topic).catch(() => 0)) >= 1, 30_000, () => `nothing reached ${topic}`);
    const [record] = await readTopic(kafka, topic, 1);
    assert.ok(record);
    assert.equal(record.key?.toString(), streamId);
    assert.equal(record.headers['crm-event-type'], 'CustomerRegistered');
    assert.equal(record.headers['crm-subject-ids'], subjectId);
    assert.equal(record.headers['crm-global-position'], String(answer.body.position));
    assert.ok(!record.value!.toString().includes(marker), 'the Kafka message holds no plaintext');
    assert.ok(record.value!.toString().includes('"sealed"'));
  });
});
