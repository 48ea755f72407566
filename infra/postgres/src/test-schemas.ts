/** Test support (not exported): a fresh schema per store, dropped when the suite ends. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestSchemas {
  /** A new schema name, `crm_test_<random>`; the store creates the schema when it opens. */
  fresh(): string;
  /** Drops every schema handed out (with everything in it). */
  dropAll(): Promise<void>;
  /** One statement on a connection of its own, for a test that looks behind the port. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export function testSchemas(connectionString: string | undefined): TestSchemas {
  const names: string[] = [];
  async function query<R extends pg.QueryResultRow>(text: string, values?: unknown[]) {
    if (!connectionString) throw new Error('CRM_PG_URL is not set');
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      return await client.query<R>(text, values);
    } finally {
      await client.end();
    }
  }
  return {
    fresh() {
      const name = `crm_test_${randomBytes(8).toString('hex')}`;
      names.push(name);
      return name;
    },
    async dropAll() {
      const doomed = names.splice(0);
      if (doomed.length === 0) return;
      await query(doomed.map((name) => `DROP SCHEMA IF EXISTS "${name}" CASCADE;`).join('\n'));
    },
    query,
  };
}
