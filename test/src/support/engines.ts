/**
 * The real engines the suites run against, from the environment that
 * `scripts/run-tests.mjs` sets (it brings them up through infra/local/engines.mjs).
 * A suite that needs an engine which is not there is skipped with a reason that names
 * it, so a run without engines says exactly what it did not test.
 */
export const engineEnv = {
  postgresUrl: process.env.CRM_PG_URL,
  kafkaUrl: process.env.CRM_KAFKA_URL,
  kafkaLogDir: process.env.CRM_KAFKA_LOG_DIR,
  mongoUrl: process.env.CRM_MONGO_URL,
  ferretdbDataDir: process.env.CRM_FERRETDB_DATA_DIR,
  pgDataDir: process.env.CRM_PG_DATA_DIR,
  esdbUrl: process.env.CRM_ESDB_URL,
};

const REQUIRED = {
  postgres: ['CRM_PG_URL', 'PostgreSQL'],
  kafka: ['CRM_KAFKA_URL', 'Apache Kafka'],
  ferretdb: ['CRM_MONGO_URL', 'MongoDB protocol (FerretDB)'],
  eventstoredb: ['CRM_ESDB_URL', 'EventStoreDB'],
} as const;

export type Engine = keyof typeof REQUIRED;

/** `describe(name, needs('postgres'), …)`: skipped, by name, when the engine is not configured. */
export function needs(...engines: Engine[]): { skip?: string } {
  const missing = engines.filter((e) => !process.env[REQUIRED[e][0]]);
  if (missing.length === 0) return {};
  return { skip: `not run: ${missing.map((e) => `${REQUIRED[e][1]} (${REQUIRED[e][0]} is not set)`).join(', ')}` };
}
