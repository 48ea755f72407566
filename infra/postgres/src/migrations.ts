import type pg from 'pg';
import { LOCK_SPACE, advisoryXactLock, lockKey } from './advisory-locks.ts';
import { inTransaction } from './pool.ts';
import { ident, qualified } from './sql-names.ts';

/**
 * Brings one component's tables in `schema` up to date: runs the migrations it has not run
 * yet, in order, in one transaction. Each component (event store, checkpoints, key store)
 * counts its own versions in `schema_migrations`, so several can share a schema.
 * Idempotent, and safe when several processes open the same schema at once: they queue
 * on the schema's migration lock, and the later ones find nothing left to do.
 *
 * `migrations[i]` is SQL text in which `{schema}` stands for the quoted schema name.
 */
export async function migrateSchema(
  pool: pg.Pool,
  schema: string,
  component: string,
  migrations: readonly string[],
): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query(advisoryXactLock(LOCK_SPACE.migration, lockKey(schema)));
    // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database
    // even when the schema exists, and an operator may have created it for a less privileged role.
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (found.rowCount === 0) await client.query(`CREATE SCHEMA ${ident(schema)}`);
    const versions = qualified(schema, 'schema_migrations');
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${versions} (
         component  text        PRIMARY KEY,
         version    integer     NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const row = await client.query<{ version: number }>(`SELECT version FROM ${versions} WHERE component = $1`, [
      component,
    ]);
    const current = row.rows[0]?.version ?? 0;
    if (current > migrations.length) {
      throw new Error(
        `${component} schema ${schema} is at version ${current}, newer than this code knows (${migrations.length})`,
      );
    }
    if (current === migrations.length) return;
    for (const migration of migrations.slice(current)) {
      await client.query(migration.replaceAll('{schema}', ident(schema)));
    }
    await client.query(
      `INSERT INTO ${versions} (component, version) VALUES ($1, $2)
       ON CONFLICT (component) DO UPDATE SET version = excluded.version, updated_at = now()`,
      [component, migrations.length],
    );
  });
}
