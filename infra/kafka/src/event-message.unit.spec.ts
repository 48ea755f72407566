import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedEvent } from '@crm/core';
import { decodeEventMessage, encodeEventMessage, EVENT_HEADERS, type RawMessage } from './event-message.ts';

const event: RecordedEvent = {
  eventId: '0197a000-0000-7000-8000-000000000001',
  type: 'CustomerRegistered',
  schemaVersion: 2,
  data: { plain: { segment: 'consumer' }, sealed: [{ subjectId: '0197a000-0000-7000-8000-0000000000aa', paths: ['name'], value: 'AQ-sealed' }] },
  metadata: { subjectIds: ['0197a000-0000-7000-8000-0000000000aa', '0197a000-0000-7000-8000-0000000000bb'], commandType: 'RegisterCustomer' },
  streamId: 'customer-0197a000-0000-7000-8000-0000000000aa',
  streamVersion: 3,
  globalPosition: 42,
  recordedAt: '2026-01-02T03:04:05.000Z',
};

function asReceived(message: { key: string; value: string; headers: Record<string, string> }): RawMessage {
  return {
    key: Buffer.from(message.key),
    value: Buffer.from(message.value),
    headers: Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, Buffer.from(v)])),
  };
}

describe('event messages', () => {
  test('key is the stream id, headers carry the clear routing facts, value is the event as stored', () => {
    const message = encodeEventMessage(event);
    assert.equal(message.key, event.streamId);
    assert.deepEqual(message.headers, {
      'crm-event-type': 'CustomerRegistered',
      'crm-schema-version': '2',
      'crm-global-position': '42',
      'crm-stream-version': '3',
      'crm-event-id': event.eventId,
      'crm-subject-ids': '0197a000-0000-7000-8000-0000000000aa,0197a000-0000-7000-8000-0000000000bb',
      'crm-recorded-at': event.recordedAt,
    });
    assert.deepEqual(JSON.parse(message.value), event);
  });

  test('round trip', () => {
    assert.deepEqual(decodeEventMessage(asReceived(encodeEventMessage(event))), { ok: true, event });
  });

  test('poison is named by kind', () => {
    const good = asReceived(encodeEventMessage(event));
    const withoutHeader = { ...good, headers: { ...good.headers, [EVENT_HEADERS.globalPosition]: undefined } };
    const otherKey = { ...good, key: Buffer.from('customer-other') };
    const cases: [RawMessage, string][] = [
      [{ ...good, value: null }, 'no-value'],
      [{ ...good, value: Buffer.from('not json {') }, 'not-json'],
      [{ ...good, value: Buffer.from('{"eventId":1}') }, 'not-an-event'],
      [{ ...good, value: Buffer.from('null') }, 'not-an-event'],
      [withoutHeader, 'missing-header'],
      [{ ...good, headers: {} }, 'missing-header'],
      [otherKey, 'header-mismatch'],
    ];
    for (const [message, kind] of cases) assert.deepEqual(decodeEventMessage(message), { ok: false, kind });
  });
});
