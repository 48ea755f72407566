/**
 * The event store's writer, on a worker thread of its own. better-sqlite3 is synchronous:
 * on the main thread every commit's fsync would stop the event loop. Here the main thread
 * keeps serving requests (parsing, sealing, queueing the next batch) while a batch commits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AppendResult } from '@crm/core';
import { type AppendRequest, prepareAppendBatch } from './append-batch.ts';
import { type SerializedAppendError, serializeAppendError } from './append-errors.ts';
import { openEventStoreConnection, type EventStoreConnectionOptions } from './connection.ts';

export type WriterRequest = { id: number; kind: 'append'; batch: AppendRequest[] } | { id: number; kind: 'close' };
export type WriterOutcome = { ok: true; value: AppendResult } | { ok: false; error: SerializedAppendError };
export type WriterResponse =
  | { id: number; kind: 'appended'; outcomes: WriterOutcome[] }
  | { id: number; kind: 'failed'; error: SerializedAppendError }
  | { id: number; kind: 'closed' };

const port = parentPort!;
const db = openEventStoreConnection(workerData as EventStoreConnectionOptions);
const appendBatch = prepareAppendBatch(db);

port.on('message', (request: WriterRequest) => {
  if (request.kind === 'close') {
    db.close();
    port.postMessage({ id: request.id, kind: 'closed' } satisfies WriterResponse);
    return;
  }
  try {
    const outcomes = appendBatch(request.batch).map((o): WriterOutcome => (o.ok ? o : { ok: false, error: serializeAppendError(o.error) }));
    port.postMessage({ id: request.id, kind: 'appended', outcomes } satisfies WriterResponse);
  } catch (error) {
    port.postMessage({ id: request.id, kind: 'failed', error: serializeAppendError(error) } satisfies WriterResponse);
  }
});
