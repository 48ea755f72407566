import { randomBytes, randomUUID } from 'node:crypto';
import type { WrappedSubjectKey } from '@crm/core';

/** The master key that wraps a fixture key unless the case says otherwise. */
export const KEK_OLD = 'kek-2024';
export const KEK_NEW = 'kek-2025';

/** A subject key as the key ring would store it; the store never looks inside `wrapped`. */
export function wrappedKey(overrides: Partial<WrappedSubjectKey> = {}): WrappedSubjectKey {
  return {
    subjectId: randomUUID(),
    keyVersion: 1,
    kekId: KEK_OLD,
    // Stands in for nonce + ciphertext + tag of a 32-byte data key.
    wrapped: new Uint8Array(randomBytes(60)),
    createdAt: '2025-01-02T03:04:05.000Z',
    ...overrides,
  };
}
