import type { RecordedEvent } from '@crm/core';
import { encodeEventMessage, type UndecodableKind } from './event-message.ts';

/** Headers of a dead letter: why, and where the original is. Kinds and positions only. */
export const DEAD_LETTER_HEADERS = {
  reason: 'crm-dlq-reason',
  kind: 'crm-dlq-kind',
  attempts: 'crm-dlq-attempts',
  group: 'crm-dlq-group',
  originalTopic: 'crm-dlq-original-topic',
  originalPartition: 'crm-dlq-original-partition',
  originalOffset: 'crm-dlq-original-offset',
  deadLetteredAt: 'crm-dlq-at',
} as const;

export interface OriginalPosition {
  topic: string;
  partition: number;
  offset: string;
}

export type DeadLetterCause =
  | { reason: 'undecodable'; kind: UndecodableKind }
  | { reason: 'handler-failed'; kind: string; attempts: number };

/**
 * A handler failure carries the event again, re-encoded from what was decoded (sealed
 * value, known headers), so that it can be replayed. An undecodable message keeps nothing
 * but its position: its bytes are unknown — they may be anything, plaintext included —
 * and stay where they are on the source topic for whoever may inspect them there.
 */
export function deadLetterMessage(
  cause: DeadLetterCause,
  group: string,
  original: OriginalPosition,
  event?: RecordedEvent,
): { key: string | null; value: string | null; headers: Record<string, string> } {
  const carried = cause.reason === 'handler-failed' && event ? encodeEventMessage(event) : undefined;
  const headers: Record<string, string> = {
    ...carried?.headers,
    [DEAD_LETTER_HEADERS.reason]: cause.reason,
    [DEAD_LETTER_HEADERS.kind]: cause.kind,
    [DEAD_LETTER_HEADERS.group]: group,
    [DEAD_LETTER_HEADERS.originalTopic]: original.topic,
    [DEAD_LETTER_HEADERS.originalPartition]: String(original.partition),
    [DEAD_LETTER_HEADERS.originalOffset]: original.offset,
    [DEAD_LETTER_HEADERS.deadLetteredAt]: new Date().toISOString(),
  };
  if (cause.reason === 'handler-failed') headers[DEAD_LETTER_HEADERS.attempts] = String(cause.attempts);
  return { key: carried?.key ?? null, value: carried?.value ?? null, headers };
}
