import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { engineEnv, needs } from '../support/engines.ts';
import { startCrmUnderTest } from '../support/crm-under-test.ts';
import { readSideSuite } from './read-side.ts';

describe('the read side on PostgreSQL, Kafka and MongoDB (FerretDB)', { timeout: 180_000, ...needs('postgres', 'kafka', 'ferretdb') }, () => {
  const suffix = randomBytes(5).toString('hex');
  const schemas = [`crm_rs_events_${suffix}`, `crm_rs_keys_${suffix}`];
  const database = `crm_rs_${suffix}`;
  readSideSuite({
    start: () =>
      startCrmUnderTest({
        CRM_EVENT_STORE: engineEnv.postgresUrl!,
        CRM_EVENT_STORE_SCHEMA: schemas[0]!,
        CRM_KEY_STORE: engineEnv.postgresUrl!,
        CRM_KEY_STORE_SCHEMA: schemas[1]!,
        CRM_BUS: engineEnv.kafkaUrl!,
        CRM_KAFKA_TOPIC: `crm.rs.${suffix}`,
        CRM_KAFKA_PARTITIONS: '3',
        CRM_READ_STORE: engineEnv.mongoUrl!,
        CRM_READ_STORE_DB: database,
      }),
    // FerretDB keeps each database in SQLite files under its data directory; and the CRM's own directory.
    readStoreFiles: (crm) => [engineEnv.ferretdbDataDir!, crm.dataDir],
    async cleanUp() {
      const mongo = new MongoClient(engineEnv.mongoUrl!);
      await mongo.connect();
      await mongo.db(database).dropDatabase().catch(() => undefined);
      await mongo.close();
      const client = new pg.Client({ connectionString: engineEnv.postgresUrl });
      await client.connect();
      await client.query(schemas.map((s) => `DROP SCHEMA IF EXISTS "${s}" CASCADE;`).join(' '));
      await client.end();
    },
  });
});
