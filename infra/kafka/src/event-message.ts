import type { RecordedEvent } from '@crm/core';

/**
 * How a stored event travels on Kafka. Key: the stream id, so one stream stays in one
 * partition, in order. Value: the event exactly as stored — its data sealed, its metadata
 * clear — never opened here. Headers repeat the clear routing facts so that brokers'
 * tools and consumers can filter without parsing the value; subject ids are random
 * UUIDs, never personal data.
 */
export const EVENT_HEADERS = {
  eventId: 'crm-event-id',
  eventType: 'crm-event-type',
  schemaVersion: 'crm-schema-version',
  globalPosition: 'crm-global-position',
  streamVersion: 'crm-stream-version',
  subjectIds: 'crm-subject-ids',
  recordedAt: 'crm-recorded-at',
} as const;

export interface EventMessage {
  key: string;
  value: string;
  headers: Record<string, string>;
}

export function encodeEventMessage(event: RecordedEvent): EventMessage {
  const stored: RecordedEvent = {
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    globalPosition: event.globalPosition,
    recordedAt: event.recordedAt,
  };
  return {
    key: event.streamId,
    value: JSON.stringify(stored),
    headers: {
      [EVENT_HEADERS.eventType]: event.type,
      [EVENT_HEADERS.schemaVersion]: String(event.schemaVersion),
      [EVENT_HEADERS.globalPosition]: String(event.globalPosition),
      [EVENT_HEADERS.streamVersion]: String(event.streamVersion),
      [EVENT_HEADERS.eventId]: event.eventId,
      [EVENT_HEADERS.subjectIds]: event.metadata.subjectIds.join(','),
      [EVENT_HEADERS.recordedAt]: event.recordedAt,
    },
  };
}

/** Why a message could not be read as an event: a kind, never the offending bytes. */
export type UndecodableKind = 'no-value' | 'not-json' | 'not-an-event' | 'missing-header' | 'header-mismatch';

export type DecodedMessage = { ok: true; event: RecordedEvent } | { ok: false; kind: UndecodableKind };

export interface RawMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export function decodeEventMessage(message: RawMessage): DecodedMessage {
  if (!message.value || message.value.length === 0) return { ok: false, kind: 'no-value' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.value.toString('utf8'));
  } catch {
    return { ok: false, kind: 'not-json' };
  }
  if (!isRecordedEvent(parsed)) return { ok: false, kind: 'not-an-event' };
  const headers: Record<string, string> = {};
  for (const name of Object.values(EVENT_HEADERS)) {
    const value = headerText(message.headers?.[name]);
    if (value === undefined) return { ok: false, kind: 'missing-header' };
    headers[name] = value;
  }
  // The headers are what routing and filtering trust; a value that disagrees is not ours.
  const agrees =
    message.key?.toString('utf8') === parsed.streamId &&
    headers[EVENT_HEADERS.eventId] === parsed.eventId &&
    headers[EVENT_HEADERS.eventType] === parsed.type &&
    headers[EVENT_HEADERS.schemaVersion] === String(parsed.schemaVersion) &&
    headers[EVENT_HEADERS.globalPosition] === String(parsed.globalPosition) &&
    headers[EVENT_HEADERS.streamVersion] === String(parsed.streamVersion);
  if (!agrees) return { ok: false, kind: 'header-mismatch' };
  return { ok: true, event: parsed };
}

function headerText(value: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (value === undefined || Array.isArray(value)) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

function isRecordedEvent(value: unknown): value is RecordedEvent {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  const metadata = event.metadata as Record<string, unknown> | null | undefined;
  return (
    typeof event.eventId === 'string' &&
    typeof event.type === 'string' &&
    typeof event.streamId === 'string' &&
    typeof event.recordedAt === 'string' &&
    Number.isSafeInteger(event.schemaVersion) &&
    Number.isSafeInteger(event.streamVersion) &&
    Number.isSafeInteger(event.globalPosition) &&
    'data' in event &&
    typeof metadata === 'object' &&
    metadata !== null &&
    Array.isArray(metadata.subjectIds) &&
    metadata.subjectIds.every((id) => typeof id === 'string')
  );
}
