// One rule for every EventStore adapter: the contract suite holds them all to it, so it lives
// beside the port rather than in each adapter.
import { WrongExpectedVersion } from '@crm/contracts/errors';
import type { ExpectedVersion } from '../ports/event-store.ts';

const INVALID = 'expectedVersion must be a non-negative integer, no-stream, exists or any';

/** Throws RangeError unless `expected` is a valid ExpectedVersion. */
export function assertExpectedVersion(expected: ExpectedVersion): void {
  if (typeof expected === 'number') {
    if (Number.isSafeInteger(expected) && expected >= 0) return;
  } else if (expected === 'any' || expected === 'no-stream' || expected === 'exists') {
    return;
  }
  throw new RangeError(INVALID);
}

/** Throws `WrongExpectedVersion` unless a stream at `actual` (0 = absent) meets `expected`. */
export function checkExpectedVersion(streamId: string, expected: ExpectedVersion, actual: number): void {
  assertExpectedVersion(expected);
  const met =
    expected === 'any' ||
    (expected === 'no-stream' && actual === 0) ||
    (expected === 'exists' && actual !== 0) ||
    expected === actual;
  if (!met) throw new WrongExpectedVersion(streamId, expected, actual);
}
