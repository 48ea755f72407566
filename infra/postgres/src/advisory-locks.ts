/**
 * Keys of the transaction-scoped advisory locks this package takes. The two-integer form
 * (space, key) keeps them apart from locks other software takes with the one-bigint form,
 * and each space below from the others.
 */
export const LOCK_SPACE = {
  /** One per schema: migrations of one schema never run twice at once. */
  migration: 0x43524d01,
  /** One per event-store schema: the appender holding it assigns the next global positions. */
  eventLog: 0x43524d02,
  /** One per (key-store schema, subject): create and destroy of one subject are serialised. */
  subjectKey: 0x43524d03,
} as const;

/**
 * 32-bit FNV-1a of the UTF-8 bytes, as a signed int4. Computed here rather than with the
 * server's `hashtext`, whose values are not promised to stay the same across versions.
 * A collision only makes two names share a lock, which serialises them and is harmless.
 */
export function lockKey(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(name, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/** SQL text that takes the lock until the transaction ends; integers only, so no injection. */
export function advisoryXactLock(space: number, key: number): string {
  return `SELECT pg_advisory_xact_lock(${space | 0}, ${key | 0})`;
}
