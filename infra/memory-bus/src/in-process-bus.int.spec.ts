import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CheckpointStore, createLogger, type EventStore, type EventToAppend, type RecordedEvent } from '@crm/core';
import { openSqliteCheckpointStore, openSqliteEventStore } from '@crm/sqlite';
import { ConsumerGroupBusy, createInProcessBus, groupCheckpointName } from './in-process-bus.ts';

const dir = mkdtempSync(join(tmpdir(), 'crm-memory-bus-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Files {
  events: string;
}
const freshFiles = (): Files => ({ events: join(dir, `${randomUUID()}.events.db`) });

function open(files: Files): { eventStore: EventStore; checkpoints: CheckpointStore; close(): Promise<void> } {
  const eventStore = openSqliteEventStore({ path: files.events, pollIntervalMs: 20, batchSize: 7 });
  // In the events file, as the runtime keeps them.
  const checkpoints = openSqliteCheckpointStore({ path: files.events });
  return { eventStore, checkpoints, close: async () => (await checkpoints.close(), await eventStore.close()) };
}

function probe(tag: string): EventToAppend {
  return { eventId: randomUUID(), type: 'ProbeRecorded', schemaVersion: 1, data: { plain: { tag }, sealed: [] }, metadata: { subjectIds: [] } };
}

/** Appends `count` events round-robin over `streams` streams, one append each. */
async function appendRoundRobin(store: EventStore, streams: number, count: number, tag = 'p'): Promise<void> {
  for (let i = 0; i < count; i++) await store.append(`probe-${i % streams}`, [probe(`${tag}${i}`)]);
}

/** Consumes until `until` says so (checked after each handled event), then stops the group. */
async function consumeUntil(
  bus: ReturnType<typeof createInProcessBus>,
  group: string,
  handle: (event: RecordedEvent) => Promise<void>,
  until: () => boolean,
): Promise<void> {
  const stop = new AbortController();
  await bus.consumer.consume({
    group,
    signal: stop.signal,
    handle: async (event) => {
      await handle(event);
      if (until()) stop.abort();
    },
  });
}

function assertPerStreamOrder(events: readonly RecordedEvent[]): void {
  const last = new Map<string, number>();
  for (const event of events) {
    assert.equal(event.streamVersion, (last.get(event.streamId) ?? 0) + 1, `${event.streamId} v${event.streamVersion} out of order`);
    last.set(event.streamId, event.streamVersion);
  }
}

const quiet = createLogger({ level: 'silent' });

describe('in-process bus', { timeout: 30_000 }, () => {
  test('a group resumes from its checkpoint after a restart: nothing lost, nothing handled twice, per-stream order', async () => {
    const files = freshFiles();
    const first = open(files);
    await appendRoundRobin(first.eventStore, 4, 40);
    const seen: RecordedEvent[] = [];
    const bus1 = createInProcessBus({ eventStore: first.eventStore, checkpoints: first.checkpoints, logger: quiet });
    await consumeUntil(bus1, 'sales-view', async (e) => void seen.push(e), () => seen.length === 15);
    assert.equal(await first.checkpoints.load(groupCheckpointName('sales-view')), 15);
    await first.close();

    // A new process: new store handles, same files; more events arrived meanwhile.
    const second = open(files);
    await appendRoundRobin(second.eventStore, 4, 10, 'q');
    const bus2 = createInProcessBus({ eventStore: second.eventStore, checkpoints: second.checkpoints, logger: quiet });
    await consumeUntil(bus2, 'sales-view', async (e) => void seen.push(e), () => seen.length === 50);
    assert.deepEqual(seen.map((e) => e.globalPosition), Array.from({ length: 50 }, (_, i) => i + 1));
    assertPerStreamOrder(seen);
    await second.close();
  });

  test('at-least-once: an event handled but not checkpointed (a crash in between) is delivered again', async () => {
    const files = freshFiles();
    const { eventStore, checkpoints, close } = open(files);
    await appendRoundRobin(eventStore, 2, 6);
    const crashing: CheckpointStore = {
      ...checkpoints,
      async store(name, position) {
        if (position === 4) throw new Error('process died');
        return checkpoints.store(name, position);
      },
    };
    const handled: number[] = [];
    const bus = createInProcessBus({ eventStore, checkpoints: crashing, logger: quiet });
    await assert.rejects(bus.consumer.consume({ group: 'g', handle: async (e) => void handled.push(e.globalPosition) }), /process died/);
    assert.deepEqual(handled, [1, 2, 3, 4]);

    const restarted = createInProcessBus({ eventStore, checkpoints, logger: quiet });
    await consumeUntil(restarted, 'g', async (e) => void handled.push(e.globalPosition), () => handled.at(-1) === 6);
    assert.deepEqual(handled, [1, 2, 3, 4, 4, 5, 6]);
    await close();
  });

  test('a handler that keeps throwing is retried, then dead-lettered without its message, and the group moves on', async () => {
    const files = freshFiles();
    const { eventStore, checkpoints, close } = open(files);
    await appendRoundRobin(eventStore, 3, 9);
    const marker = `Mk${randomUUID().slice(0, 8)}`;
    const lines: string[] = [];
    const attempts = new Map<number, number>();
    const handled: number[] = [];
    const bus = createInProcessBus({ eventStore, checkpoints, maxAttempts: 4, retryDelayMs: 1, logger: createLogger({ write: (l) => lines.push(l) }) });
    const letters: string[] = [];
    bus.deadLetters.recorded$.subscribe((letter) => letters.push(letter.eventId));
    await consumeUntil(
      bus,
      'hr-view',
      async (e) => {
        attempts.set(e.globalPosition, (attempts.get(e.globalPosition) ?? 0) + 1);
        if (e.globalPosition === 5) throw new RangeError(`cannot project ${marker} <${marker}@example.org>`);
        if (e.globalPosition === 7 && attempts.get(7) === 1) throw new Error('transient');
        handled.push(e.globalPosition);
      },
      () => handled.at(-1) === 9,
    );
    assert.equal(attempts.get(5), 4);
    assert.equal(attempts.get(7), 2);
    assert.deepEqual(handled, [1, 2, 3, 4, 6, 7, 8, 9]);
    assert.equal(bus.deadLetters.count, 1);
    const [letter] = bus.deadLetters.list();
    assert.equal(letter?.globalPosition, 5);
    assert.equal(letter?.errorKind, 'RangeError');
    assert.equal(letter?.attempts, 4);
    assert.deepEqual(letters, [letter?.eventId]);
    assert.equal(await checkpoints.load(groupCheckpointName('hr-view')), 9);
    assert.ok(lines.some((l) => l.includes('event dead-lettered') && l.includes('RangeError')), lines.join('\n'));
    assert.ok(!lines.join('\n').includes(marker), 'no log line quotes the error message');
    await close();
  });

  test('groups are independent; live events reach a caught-up group; one member per group in a process', async () => {
    const files = freshFiles();
    const { eventStore, checkpoints, close } = open(files);
    await appendRoundRobin(eventStore, 2, 3);
    const bus = createInProcessBus({ eventStore, checkpoints, logger: quiet });
    const published: number[] = [];
    bus.published$.subscribe((e) => published.push(e.globalPosition));
    const a: number[] = [];
    const b: number[] = [];
    const stop = new AbortController();
    const groupA = bus.consumer.consume({ group: 'a', signal: stop.signal, handle: async (e) => void a.push(e.globalPosition) });
    const groupB = bus.consumer.consume({ group: 'b', signal: stop.signal, handle: async (e) => void b.push(e.globalPosition) });
    await assert.rejects(bus.consumer.consume({ group: 'a', handle: async () => {} }), ConsumerGroupBusy);
    await appendRoundRobin(eventStore, 2, 3, 'live');
    // Publishing is a notification only: consumers read the store, whether or not anyone publishes.
    await bus.publisher.publish(await eventStore.readAll({ after: 5 }));
    while (a.length < 6 || b.length < 6) await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    await Promise.all([groupA, groupB]);
    assert.deepEqual(a, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(b, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(published, [6]);
    await close();
  });
});
