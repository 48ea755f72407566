import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BusPublisher, type CheckpointStore, createLogger, type EventStore, type RecordedEvent } from '@crm/core';
import { openSqliteCheckpointStore, openSqliteEventStore } from '@crm/sqlite';
import { type RelayProgress, runRelay } from './relay.ts';

const dir = mkdtempSync(join(tmpdir(), 'crm-relay-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const quiet = createLogger({ level: 'silent' });

function openStores(): { eventStore: EventStore; checkpoints: CheckpointStore; close(): Promise<void> } {
  const path = join(dir, `${randomUUID()}.db`);
  const eventStore = openSqliteEventStore({ path, pollIntervalMs: 20, batchSize: 50 });
  // In the events file, as the runtime keeps them.
  const checkpoints = openSqliteCheckpointStore({ path });
  return { eventStore, checkpoints, close: async () => (await checkpoints.close(), await eventStore.close()) };
}

async function append(store: EventStore, count: number, streams = 3): Promise<void> {
  for (let i = 0; i < count; i++) {
    await store.append(`probe-${i % streams}`, [
      { eventId: randomUUID(), type: 'ProbeRecorded', schemaVersion: 1, data: { plain: { i }, sealed: [] }, metadata: { subjectIds: [] } },
    ]);
  }
}

/** A bus that acknowledges every publish, recording the batches; `fail` decides which publishes throw instead. */
function recordingPublisher(fail: (batch: readonly RecordedEvent[], call: number) => boolean = () => false) {
  const acknowledged: RecordedEvent[][] = [];
  let calls = 0;
  const publisher: BusPublisher = {
    async publish(events) {
      calls++;
      if (fail(events, calls)) throw new Error('broker unavailable');
      acknowledged.push([...events]);
    },
    async close() {},
  };
  return { publisher, acknowledged, positions: () => acknowledged.flat().map((e) => e.globalPosition), calls: () => calls };
}

/** Runs the relay until `until(progress)` holds, then stops it and returns its final figures. */
async function relayUntil(options: Omit<Parameters<typeof runRelay>[0], 'signal'>, until: (p: RelayProgress) => boolean): Promise<RelayProgress> {
  const stop = new AbortController();
  return runRelay({
    ...options,
    logger: quiet,
    signal: stop.signal,
    onPublished: (progress) => {
      options.onPublished?.(progress);
      if (until(progress)) stop.abort();
    },
  });
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('relay', { timeout: 30_000 }, () => {
  test('publishes every event once, in global order, in batches of at most batchSize; checkpoints each batch', async () => {
    const { eventStore, checkpoints, close } = openStores();
    await append(eventStore, 23);
    const bus = recordingPublisher();
    const seen: RelayProgress[] = [];
    const final = await relayUntil({ eventStore, publisher: bus.publisher, checkpoints, batchSize: 5, onPublished: (p) => seen.push(p) }, (p) => p.lastPosition === 23);
    assert.deepEqual(bus.positions(), range(1, 23));
    assert.ok(bus.acknowledged.every((batch) => batch.length <= 5));
    assert.equal(bus.acknowledged[0]?.length, 5, 'a backlog goes in full batches');
    assert.equal(await checkpoints.load('relay:kafka'), 23);
    assert.deepEqual({ ...final, batches: undefined }, { published: 23, batches: undefined, lastPosition: 23, lag: 0, failedPublishes: 0 });
    assert.equal(seen[0]?.lag, 18, 'lag: committed but not yet published');
    await close();
  });

  test('a failed publish checkpoints nothing and is retried with the same batch', async () => {
    const { eventStore, checkpoints, close } = openStores();
    await append(eventStore, 12);
    const checkpointAtFailure: number[] = [];
    let failures = 0;
    const bus = recordingPublisher((batch) => {
      if (batch[0]?.globalPosition !== 6 || failures > 0) return false;
      failures++;
      void checkpoints.load('relay:kafka').then((p) => checkpointAtFailure.push(p));
      return true;
    });
    const final = await relayUntil({ eventStore, publisher: bus.publisher, checkpoints, batchSize: 5, retryDelayMs: 1 }, (p) => p.lastPosition === 12);
    assert.deepEqual(checkpointAtFailure, [5], 'the failing batch was not checkpointed');
    assert.deepEqual(bus.acknowledged.map((b) => b.map((e) => e.globalPosition)), [range(1, 5), range(6, 10), range(11, 12)]);
    assert.equal(bus.calls(), 4);
    assert.equal(final.failedPublishes, 1);
    assert.equal(await checkpoints.load('relay:kafka'), 12);
    await close();
  });

  test('a restart resumes after the checkpoint; live events follow', async () => {
    const { eventStore, checkpoints, close } = openStores();
    await append(eventStore, 8);
    const bus = recordingPublisher();
    await relayUntil({ eventStore, publisher: bus.publisher, checkpoints, batchSize: 4, name: 'relay:test' }, (p) => p.lastPosition === 8);
    const stop = new AbortController();
    const running = runRelay({ eventStore, publisher: bus.publisher, checkpoints, batchSize: 4, name: 'relay:test', logger: quiet, signal: stop.signal, onPublished: (p) => p.lastPosition === 14 && stop.abort() });
    await append(eventStore, 6);
    const final = await running;
    assert.deepEqual(bus.positions(), range(1, 14));
    assert.equal(final.published, 6);
    assert.equal(await checkpoints.load('relay:kafka'), 0, 'each relay name has its own checkpoint');
    await close();
  });

  test('a crash after the publish and before the checkpoint publishes that batch again on restart (at-least-once)', async () => {
    const { eventStore, checkpoints, close } = openStores();
    await append(eventStore, 9);
    const bus = recordingPublisher();
    const crashing: CheckpointStore = {
      ...checkpoints,
      async store(name, position) {
        if (position === 6) throw new Error('killed');
        return checkpoints.store(name, position);
      },
    };
    await assert.rejects(runRelay({ eventStore, publisher: bus.publisher, checkpoints: crashing, batchSize: 3, logger: quiet, signal: new AbortController().signal }), /killed/);
    assert.equal(await checkpoints.load('relay:kafka'), 3);
    await relayUntil({ eventStore, publisher: bus.publisher, checkpoints, batchSize: 3 }, (p) => p.lastPosition === 9);
    assert.deepEqual(bus.positions(), [...range(1, 6), ...range(4, 9)]);
    await close();
  });

  test('stopping during publish retries leaves the batch unpublished and not checkpointed', async () => {
    const { eventStore, checkpoints, close } = openStores();
    await append(eventStore, 3);
    const stop = new AbortController();
    const bus = recordingPublisher(() => {
      stop.abort();
      return true;
    });
    const final = await runRelay({ eventStore, publisher: bus.publisher, checkpoints, logger: quiet, signal: stop.signal, retryDelayMs: 60_000 });
    assert.equal(final.published, 0);
    assert.equal(await checkpoints.load('relay:kafka'), 0);
    await close();
  });
});
