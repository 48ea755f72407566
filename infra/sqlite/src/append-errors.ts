import { DuplicateIdempotencyKey, WrongExpectedVersion } from '@crm/core';

/**
 * Append errors cross the worker boundary as plain data and become the same error
 * classes again on the other side, so callers can test `instanceof`.
 */
export type SerializedAppendError =
  | { kind: 'wrong-expected-version'; streamId: string; expected: number | string; actual: number }
  | { kind: 'duplicate-idempotency-key'; key: string }
  | { kind: 'range'; message: string }
  | { kind: 'other'; name: string; message: string };

export function serializeAppendError(error: unknown): SerializedAppendError {
  if (error instanceof WrongExpectedVersion) {
    return { kind: 'wrong-expected-version', streamId: error.streamId, expected: error.expected, actual: error.actual };
  }
  if (error instanceof DuplicateIdempotencyKey) return { kind: 'duplicate-idempotency-key', key: error.key };
  if (error instanceof RangeError) return { kind: 'range', message: error.message };
  return { kind: 'other', name: error instanceof Error ? error.name : typeof error, message: error instanceof Error ? error.message : String(error) };
}

export function deserializeAppendError(error: SerializedAppendError): Error {
  switch (error.kind) {
    case 'wrong-expected-version':
      return new WrongExpectedVersion(error.streamId, error.expected, error.actual);
    case 'duplicate-idempotency-key':
      return new DuplicateIdempotencyKey(error.key);
    case 'range':
      return new RangeError(error.message);
    case 'other': {
      const restored = new Error(error.message);
      restored.name = error.name;
      return restored;
    }
  }
}
