import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { engineEnv } from './engines.ts';

/**
 * A CRM configuration on the real engines — PostgreSQL event and key stores (schemas of
 * their own), a Kafka topic and a MongoDB (FerretDB) database of its own — and the clean-up
 * that removes them again. `prefix` names what a suite made, for whoever looks at the engines.
 */
export function engineCrm(prefix: string): { env: Record<string, string>; sql(statement: string): Promise<void>; cleanUp(): Promise<void> } {
  const suffix = randomBytes(5).toString('hex');
  const schemas = [`crm_${prefix}_events_${suffix}`, `crm_${prefix}_keys_${suffix}`] as const;
  const database = `crm_${prefix}_${suffix}`;
  const sql = async (statement: string) => {
    const client = new pg.Client({ connectionString: engineEnv.postgresUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  return {
    env: {
      CRM_EVENT_STORE: engineEnv.postgresUrl!,
      CRM_EVENT_STORE_SCHEMA: schemas[0],
      CRM_KEY_STORE: engineEnv.postgresUrl!,
      CRM_KEY_STORE_SCHEMA: schemas[1],
      CRM_BUS: engineEnv.kafkaUrl!,
      CRM_KAFKA_TOPIC: `crm.${prefix}.${suffix}`,
      CRM_KAFKA_PARTITIONS: '3',
      CRM_READ_STORE: engineEnv.mongoUrl!,
      CRM_READ_STORE_DB: database,
    },
    sql,
    async cleanUp() {
      const mongo = new MongoClient(engineEnv.mongoUrl!);
      await mongo.connect();
      await mongo.db(database).dropDatabase().catch(() => undefined);
      await mongo.close();
      await sql(schemas.map((s) => `DROP SCHEMA IF EXISTS "${s}" CASCADE;`).join(' '));
    },
  };
}
