/** PostgreSQL helpers for the workloads: fresh schemas, one-off statements, server settings. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A fresh schema name, `crm_bench_<prefix>_<random>` (the stores' name rules: lower case, ≤ 48 characters). */
export function freshSchema(prefix: string): string {
  return `crm_bench_${prefix}_${randomBytes(6).toString('hex')}`;
}

/** One statement (or several, `;`-separated, without parameters) on a connection of its own. */
export async function pgQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  connectionString: string,
  text: string,
  values?: unknown[],
): Promise<pg.QueryResult<R>> {
  const client = new pg.Client({ connectionString, application_name: 'crm-bench' });
  await client.connect();
  try {
    return await client.query<R>(text, values);
  } finally {
    await client.end();
  }
}

export async function dropSchema(connectionString: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new RangeError(`not a schema name: ${schema}`);
  await pgQuery(connectionString, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** What decides what "durable" costs on this server, recorded with the results. */
export async function serverSettings(connectionString: string): Promise<Record<string, string>> {
  const names = ['server_version', 'fsync', 'synchronous_commit', 'wal_sync_method', 'commit_delay', 'full_page_writes', 'shared_buffers', 'max_wal_size'];
  const { rows } = await pgQuery<{ name: string; setting: string }>(
    connectionString,
    'SELECT name, current_setting(name) AS setting FROM unnest($1::text[]) AS name',
    [names],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
}

/** The URL without user info, for the record. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return 'unparseable';
  }
}
