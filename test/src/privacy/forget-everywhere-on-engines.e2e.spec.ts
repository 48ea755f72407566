import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { engineEnv, needs } from '../support/engines.ts';
import { startCrmUnderTest } from '../support/crm-under-test.ts';
import { forgetEverywhereSuite } from './forget-everywhere.ts';

describe('forget-me everywhere, on PostgreSQL + Kafka + MongoDB (FerretDB)', { timeout: 240_000, ...needs('postgres', 'kafka', 'ferretdb') }, () => {
  const suffix = randomBytes(5).toString('hex');
  const schemas = [`crm_fg_events_${suffix}`, `crm_fg_keys_${suffix}`];
  const database = `crm_fg_${suffix}`;
  const sql = async (statement: string) => {
    const client = new pg.Client({ connectionString: engineEnv.postgresUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  forgetEverywhereSuite({
    start: () =>
      startCrmUnderTest({
        CRM_EVENT_STORE: engineEnv.postgresUrl!,
        CRM_EVENT_STORE_SCHEMA: schemas[0]!,
        CRM_KEY_STORE: engineEnv.postgresUrl!,
        CRM_KEY_STORE_SCHEMA: schemas[1]!,
        CRM_BUS: engineEnv.kafkaUrl!,
        CRM_KAFKA_TOPIC: `crm.fg.${suffix}`,
        CRM_KAFKA_PARTITIONS: '3',
        CRM_READ_STORE: engineEnv.mongoUrl!,
        CRM_READ_STORE_DB: database,
      }),
    // PostgreSQL's files (heap and WAL), Kafka's log segments, FerretDB's files, and the CRM's own directory (audit log).
    storeDirectories: (crm) => [engineEnv.pgDataDir!, engineEnv.kafkaLogDir!, engineEnv.ferretdbDataDir!, crm.dataDir],
    writeAheadLogs: [`${engineEnv.pgDataDir}/pg_wal`],
    async beforeScan() {
      // Written pages reach the data files (a scan of only WAL and buffers would prove less).
      await sql('CHECKPOINT');
    },
    async cleanUp() {
      const mongo = new MongoClient(engineEnv.mongoUrl!);
      await mongo.connect();
      await mongo.db(database).dropDatabase().catch(() => undefined);
      await mongo.close();
      await sql(schemas.map((s) => `DROP SCHEMA IF EXISTS "${s}" CASCADE;`).join(' '));
    },
  });
});
