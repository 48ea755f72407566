import pg from 'pg';

export interface PoolOptions {
  connectionString: string;
  /** Most connections the pool opens. */
  max: number;
  /** Shown in pg_stat_activity, so an operator can tell the adapters' sessions apart. */
  applicationName: string;
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    application_name: options.applicationName,
  });
  // An idle connection that breaks (server restart, network) is dropped by the pool and
  // replaced on next use; without a listener the 'error' event would end the process.
  pool.on('error', () => {});
  return pool;
}

/**
 * Runs `use` on one checked-out connection. `use` calls `discard()` when the connection may
 * be left mid-transaction or broken: it is then closed instead of going back to the pool.
 */
export async function withClient<T>(
  pool: pg.Pool,
  use: (client: pg.PoolClient, discard: (reason: Error) => void) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  // While checked out the pool no longer listens; a connection dying between two queries
  // must not crash the process (the next query then fails instead).
  const ignore = () => {};
  client.on('error', ignore);
  let discarded: Error | undefined;
  try {
    return await use(client, (reason) => (discarded ??= reason));
  } finally {
    client.off('error', ignore);
    client.release(discarded);
  }
}

/**
 * BEGIN … COMMIT around `use`, on one connection; ROLLBACK when `use` throws.
 * READ COMMITTED explicitly: every statement then takes a fresh snapshot, which the lock
 * protocols here rely on whatever `default_transaction_isolation` the server has.
 */
export function inTransaction<T>(pool: pg.Pool, use: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client, discard) => {
    await client.query(BEGIN);
    try {
      const result = await use(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await rollback(client, discard);
      throw error;
    }
  });
}

export const BEGIN = 'BEGIN ISOLATION LEVEL READ COMMITTED';

/** ROLLBACK, or discard the connection when even that fails (it is broken or mid-protocol). */
export async function rollback(client: pg.PoolClient, discard: (reason: Error) => void): Promise<void> {
  try {
    await client.query('ROLLBACK');
  } catch (error) {
    discard(error instanceof Error ? error : new Error(String(error)));
  }
}
