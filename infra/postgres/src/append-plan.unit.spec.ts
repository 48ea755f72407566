import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DuplicateIdempotencyKey, WrongExpectedVersion, type EventToAppend } from '@crm/core';
import { applyPlan, planAppend, rowsOf, type AppendRequest, type LogState, type PlannedAppend } from './append-plan.ts';

const event = (n: number): EventToAppend => ({
  eventId: `e-${n}`,
  type: 'ProbeRecorded',
  schemaVersion: 1,
  data: { n },
  metadata: { subjectIds: [] },
});

function state(overrides: Partial<LogState> = {}): LogState {
  return { head: 10, streams: new Map(), usedKeys: new Set(), recordedAt: '2025-01-01T00:00:00.000Z', ...overrides };
}

/** Plans and applies a batch in order, as the append transaction does. */
function planBatch(log: LogState, batch: AppendRequest[]): (PlannedAppend | Error)[] {
  return batch.map((request) => {
    try {
      const planned = planAppend(log, request);
      applyPlan(log, planned);
      return planned;
    } catch (error) {
      return error as Error;
    }
  });
}

describe('append plan', () => {
  test('assigns positions after the head and versions after each stream, in call order', () => {
    const log = state({ streams: new Map([['a', { version: 3, lastPosition: 9 }]]) });
    const [first, second, third] = planBatch(log, [
      { streamId: 'a', events: [event(1), event(2)], options: { expectedVersion: 3 } },
      { streamId: 'b', events: [event(3)], options: { expectedVersion: 'no-stream' } },
      { streamId: 'a', events: [event(4)], options: { expectedVersion: 5 } },
    ]);
    assert.deepEqual((first as PlannedAppend).result, { streamId: 'a', nextExpectedVersion: 5, firstPosition: 11, lastPosition: 12 });
    assert.deepEqual((second as PlannedAppend).result, { streamId: 'b', nextExpectedVersion: 1, firstPosition: 13, lastPosition: 13 });
    assert.deepEqual((third as PlannedAppend).result, { streamId: 'a', nextExpectedVersion: 6, firstPosition: 14, lastPosition: 14 });
    assert.equal(log.head, 14);
    const rows = rowsOf([first, second, third] as PlannedAppend[]);
    assert.deepEqual(rows.events.map((e) => [e.position, e.streamId, e.streamVersion]), [
      [11, 'a', 4], [12, 'a', 5], [13, 'b', 1], [14, 'a', 6],
    ]);
    assert.deepEqual(rows.streams, [
      { streamId: 'a', version: 6, lastPosition: 14 },
      { streamId: 'b', version: 1, lastPosition: 13 },
    ], 'each stream written once, at its last head');
  });

  test('a failed append changes nothing for the appends after it', () => {
    const log = state();
    const [ok, conflict, next] = planBatch(log, [
      { streamId: 's', events: [event(1)], options: {} },
      { streamId: 's', events: [event(2)], options: { expectedVersion: 0, idempotency: { key: 'k', scope: 'C', reply: null } } },
      { streamId: 's', events: [event(3)], options: { expectedVersion: 1, idempotency: { key: 'k', scope: 'C', reply: null } } },
    ]);
    assert.ok(!(ok instanceof Error));
    assert.ok(conflict instanceof WrongExpectedVersion && conflict.actual === 1);
    assert.ok(next && !(next instanceof Error), `the key the failed append did not use up is free: ${String(next)}`);
    assert.equal(next.result.firstPosition, 12, 'no position was used up by the failed append');
  });

  test('checks the idempotency key before the version, within the batch too', () => {
    const log = state({ usedKeys: new Set(['used']) });
    const [stored, first, retry] = planBatch(log, [
      { streamId: 's', events: [event(1)], options: { expectedVersion: 99, idempotency: { key: 'used', scope: 'C', reply: null } } },
      { streamId: 't', events: [event(2)], options: { expectedVersion: 'no-stream', idempotency: { key: 'new', scope: 'C', reply: 1 } } },
      { streamId: 't', events: [event(2)], options: { expectedVersion: 'no-stream', idempotency: { key: 'new', scope: 'C', reply: 1 } } },
    ]);
    assert.ok(stored instanceof DuplicateIdempotencyKey);
    assert.deepEqual(JSON.parse((first as PlannedAppend).idempotency?.result ?? ''), (first as PlannedAppend).result);
    assert.ok(retry instanceof DuplicateIdempotencyKey, 'a retry in the same batch hears "already done", not "conflict"');
  });

  test('an append of no events writes no event, points at the stream\'s last event and still records its key', () => {
    const log = state({ streams: new Map([['s', { version: 2, lastPosition: 7 }]]) });
    const planned = planAppend(log, { streamId: 's', events: [], options: { expectedVersion: 2, idempotency: { key: 'k', scope: 'C', reply: null } } });
    assert.deepEqual(planned.result, { streamId: 's', nextExpectedVersion: 2, firstPosition: 7, lastPosition: 7 });
    assert.deepEqual(planned.events, []);
    assert.equal(planned.stream, undefined);
    assert.equal(planned.idempotency?.key, 'k');
    assert.deepEqual(planAppend(log, { streamId: 'new', events: [], options: {} }).result.lastPosition, 0);
    assert.throws(() => planAppend(log, { streamId: 's', events: [], options: { expectedVersion: 'no-stream' } }), WrongExpectedVersion);
  });

  test('planning alone never changes the state', () => {
    const log = state();
    planAppend(log, { streamId: 's', events: [event(1)], options: { idempotency: { key: 'k', scope: 'C', reply: null } } });
    assert.deepEqual(log, state());
  });
});
