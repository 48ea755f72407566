// Same rules as infra/sqlite/src/expected-version.ts; every EventStore adapter must agree.
import { WrongExpectedVersion, type ExpectedVersion } from '@crm/core';

/** Throws `WrongExpectedVersion` unless a stream at `actual` (0 = absent) meets `expected`. */
export function checkExpectedVersion(streamId: string, expected: ExpectedVersion, actual: number): void {
  if (typeof expected === 'number') {
    if (!Number.isSafeInteger(expected) || expected < 0) {
      throw new RangeError('expectedVersion must be a non-negative integer, no-stream, exists or any');
    }
    if (expected !== actual) throw new WrongExpectedVersion(streamId, expected, actual);
    return;
  }
  switch (expected) {
    case 'any':
      return;
    case 'no-stream':
      if (actual !== 0) throw new WrongExpectedVersion(streamId, expected, actual);
      return;
    case 'exists':
      if (actual === 0) throw new WrongExpectedVersion(streamId, expected, actual);
      return;
    default:
      throw new RangeError('expectedVersion must be a non-negative integer, no-stream, exists or any');
  }
}
