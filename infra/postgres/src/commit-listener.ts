import pg from 'pg';
import { pause } from '@crm/core';
import { ident } from './sql-names.ts';

export interface CommitListenerOptions {
  connectionString: string;
  channel: string;
  /** Shown in pg_stat_activity. */
  applicationName: string;
  /** Called on every notification, and after each (re)connect: commits made while no connection listened were not announced. */
  onCommit(): void;
  /** Wait before reconnecting after the connection failed or ended. */
  retryMs: number;
}

export interface CommitListener {
  close(): Promise<void>;
}

/**
 * One LISTEN connection per store, kept open (reconnecting after failures) until `close`.
 * Notifications only shorten the wait: subscribers also poll, so a lost connection delays
 * live events by at most the poll interval and never loses one.
 */
export function listenForCommits(options: CommitListenerOptions): CommitListener {
  const stopped = new AbortController();
  let current: pg.Client | undefined;

  async function run(): Promise<void> {
    while (!stopped.signal.aborted) {
      const client = new pg.Client({
        connectionString: options.connectionString,
        application_name: options.applicationName,
        // So that close() never waits long on a server that does not answer.
        connectionTimeoutMillis: 10_000,
      });
      const ended = new Promise<void>((resolve) => client.once('end', resolve));
      // Failures surface as 'end' (or a rejected connect/query below); never crash the process.
      client.on('error', () => {});
      client.on('notification', (message) => {
        if (message.channel === options.channel) options.onCommit();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${ident(options.channel)}`);
        current = client;
        if (stopped.signal.aborted) break;
        options.onCommit();
        await ended;
      } catch {
        // Retried below.
      } finally {
        current = undefined;
        client.end().catch(() => {});
      }
      await pause(options.retryMs, stopped.signal);
    }
  }

  const running = run();
  return {
    async close() {
      stopped.abort();
      await current?.end().catch(() => {});
      await running;
    },
  };
}
