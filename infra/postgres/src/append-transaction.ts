import type pg from 'pg';
import type { AppendResult, Outcome } from '@crm/core';
import { applyPlan, planAppend, rowsOf, type AppendRequest, type LogState, type PlannedAppend } from './append-plan.ts';
import { writeParameters, type AppendStatements } from './append-statements.ts';
import { rollback, withClient } from './pool.ts';

export interface BatchInfo {
  /** Appends in the transaction. */
  appends: number;
  /** Of those, how many failed alone (conflict, duplicate key, a row the database refused...). */
  failed: number;
  /** Events written. */
  events: number;
}

export interface AppendTransactionOptions {
  pool: pg.Pool;
  statements: AppendStatements;
  /** Runs inside the transaction, holding the lock, after the writes and before COMMIT. A throw rolls the batch back. */
  beforeCommit?(info: BatchInfo): Promise<void> | void;
}

/**
 * Commits one group of appends in one transaction: BEGIN and the event log's lock, one read
 * of everything the batch needs, the decisions in memory, one write of all rows, COMMIT —
 * four round trips whatever the batch size. An append that fails rejects only itself.
 *
 * Positions are head + 1, … under the lock, so they are gap-free and follow commit order: a
 * reader can never see position n + 1 before n, and a rolled-back batch leaves no hole.
 */
export async function commitAppendBatch(
  options: AppendTransactionOptions,
  batch: readonly AppendRequest[],
): Promise<{ outcomes: Outcome<AppendResult>[]; info: BatchInfo }> {
  const { statements } = options;
  return withClient(options.pool, async (client, discard) => {
    try {
      let state = await begin(client, statements, batch);
      let written: { outcomes: Outcome<AppendResult>[]; events: number };
      try {
        written = await writeTogether(client, statements, state, batch);
      } catch (error) {
        if (!rowsRefused(error)) throw error;
        // One of the accepted appends holds a row the database refuses (an event id stored
        // before, a value a column cannot take). Find it by redoing the batch one append per
        // savepoint: slower, and only ever run after such a refusal.
        await client.query('ROLLBACK');
        state = await begin(client, statements, batch);
        written = await writeOneByOne(client, statements, state, batch);
      }
      const info = {
        appends: batch.length,
        failed: written.outcomes.filter((o) => !o.ok).length,
        events: written.events,
      };
      await options.beforeCommit?.(info);
      await client.query('COMMIT');
      return { outcomes: written.outcomes, info };
    } catch (error) {
      await rollback(client, discard);
      throw error;
    }
  });
}

async function begin(
  client: pg.PoolClient,
  statements: AppendStatements,
  batch: readonly AppendRequest[],
): Promise<LogState> {
  await client.query(statements.beginAndLock);
  const streamIds = [...new Set(batch.map((r) => r.streamId))];
  const keys = [...new Set(batch.flatMap((r) => (r.options.idempotency ? [r.options.idempotency.key] : [])))];
  const { rows } = await client.query<{
    head: string;
    now: Date;
    streams: [string, number, number][];
    used_keys: string[];
  }>({ ...statements.readState, values: [streamIds, keys] });
  const row = rows[0];
  if (!row) throw new Error('reading the event log state returned no row');
  return {
    head: Number(row.head),
    streams: new Map(row.streams.map(([id, version, lastPosition]) => [id, { version, lastPosition }])),
    usedKeys: new Set(row.used_keys),
    recordedAt: row.now.toISOString(),
  };
}

async function writeTogether(
  client: pg.PoolClient,
  statements: AppendStatements,
  state: LogState,
  batch: readonly AppendRequest[],
): Promise<{ outcomes: Outcome<AppendResult>[]; events: number }> {
  const accepted: PlannedAppend[] = [];
  const outcomes = batch.map((request): Outcome<AppendResult> => {
    try {
      const planned = planAppend(state, request);
      applyPlan(state, planned);
      accepted.push(planned);
      return { ok: true, value: planned.result };
    } catch (error) {
      return { ok: false, error };
    }
  });
  const rows = rowsOf(accepted);
  if (rows.events.length > 0) {
    const values = [...writeParameters(rows, state.recordedAt), String(state.head)];
    await client.query({ ...statements.writeWithNotify, values });
  } else if (rows.idempotency.length > 0) {
    await client.query({ ...statements.write, values: writeParameters(rows, state.recordedAt) });
  }
  return { outcomes, events: rows.events.length };
}

async function writeOneByOne(
  client: pg.PoolClient,
  statements: AppendStatements,
  state: LogState,
  batch: readonly AppendRequest[],
): Promise<{ outcomes: Outcome<AppendResult>[]; events: number }> {
  const outcomes: Outcome<AppendResult>[] = [];
  let events = 0;
  for (const request of batch) {
    let planned: PlannedAppend;
    try {
      planned = planAppend(state, request);
    } catch (error) {
      outcomes.push({ ok: false, error });
      continue;
    }
    const rows = rowsOf([planned]);
    if (rows.events.length > 0 || rows.idempotency.length > 0) {
      await client.query('SAVEPOINT append');
      try {
        await client.query({ ...statements.write, values: writeParameters(rows, state.recordedAt) });
        await client.query('RELEASE append');
      } catch (error) {
        if (!rowsRefused(error)) throw error;
        await client.query('ROLLBACK TO append');
        await client.query('RELEASE append');
        outcomes.push({ ok: false, error });
        continue;
      }
    }
    applyPlan(state, planned);
    events += rows.events.length;
    outcomes.push({ ok: true, value: planned.result });
  }
  if (events > 0) await client.query({ ...statements.notify, values: [String(state.head)] });
  return { outcomes, events };
}

/**
 * SQLSTATE classes 22 (data exception), 23 (integrity constraint violation) and 54 (program
 * limit exceeded): the database refused a value, which is the fault of one append's rows.
 * Anything else (connection lost, server shutting down) fails the whole batch.
 */
function rowsRefused(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}
