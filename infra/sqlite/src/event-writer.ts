import { Worker } from 'node:worker_threads';
import type { AppendResult, Outcome } from '@crm/core';
import type { AppendRequest } from './append-batch.ts';
import { deserializeAppendError } from './append-errors.ts';
import type { EventStoreConnectionOptions } from './connection.ts';
import type { WriterRequest, WriterResponse } from './writer-worker.ts';

export interface EventWriter {
  /** Commits one group of appends in one transaction on the writer thread. */
  commit(batch: readonly AppendRequest[]): Promise<Outcome<AppendResult>[]>;
  close(): Promise<void>;
}

/** Starts the writer thread (see writer-worker.ts) for one event store file. */
export function startEventWriter(options: EventStoreConnectionOptions): EventWriter {
  const worker = new Worker(new URL('./writer-worker.mjs', import.meta.url), { workerData: options });
  const pending = new Map<number, (response: WriterResponse) => void>();
  let nextId = 0;
  let failure: Error | undefined;

  worker.on('message', (response: WriterResponse) => {
    pending.get(response.id)?.(response);
    pending.delete(response.id);
  });
  const failAll = (error: Error) => {
    failure ??= error;
    for (const settle of pending.values()) settle({ id: -1, kind: 'failed', error: { kind: 'other', name: error.name, message: error.message } });
    pending.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', () => failAll(new Error('The event store writer thread stopped')));

  const send = (request: WriterRequest extends infer R ? (R extends WriterRequest ? Omit<R, 'id'> : never) : never) =>
    new Promise<WriterResponse>((resolve) => {
      if (failure) return resolve({ id: -1, kind: 'failed', error: { kind: 'other', name: failure.name, message: failure.message } });
      const id = nextId++;
      pending.set(id, resolve);
      worker.postMessage({ ...request, id });
    });

  return {
    async commit(batch) {
      const response = await send({ kind: 'append', batch: [...batch] });
      if (response.kind === 'failed') throw deserializeAppendError(response.error);
      if (response.kind !== 'appended') throw new Error('unexpected answer from the event store writer');
      return response.outcomes.map((o) => (o.ok ? o : { ok: false, error: deserializeAppendError(o.error) }));
    },
    async close() {
      if (!failure) await send({ kind: 'close' });
      await worker.terminate();
    },
  };
}
