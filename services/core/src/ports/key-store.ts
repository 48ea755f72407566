/**
 * KeyStore port: stores each data subject's data key, wrapped by a master key (KEK).
 * It never holds a key in the clear and never mints keys itself: wrapping and
 * unwrapping happen in `shredding/keyring.ts`. Adapters pass the contract suite in
 * `test/src/contracts/key-store.contract.ts`.
 */

export interface WrappedSubjectKey {
  subjectId: string;
  /** Starts at 1. */
  keyVersion: number;
  /** Identifies the master key that wrapped this data key. */
  kekId: string;
  /** Nonce, ciphertext and tag of the data key under the master key. */
  wrapped: Uint8Array;
  createdAt: string;
}

/** Left behind when a subject's key is destroyed. Holds no key material and no personal data. */
export interface Tombstone {
  subjectId: string;
  destroyedAt: string;
  /** The privacy request (or operator action) that destroyed the key. */
  requestId: string;
  /** The key versions that were destroyed. */
  keyVersions: number[];
}

export type SubjectKeyRecord =
  | { state: 'active'; key: WrappedSubjectKey }
  | { state: 'destroyed'; tombstone: Tombstone };

export interface RewrappedKey {
  subjectId: string;
  keyVersion: number;
  /** The master key the data key was wrapped with before; the update only applies if it still is. */
  fromKekId: string;
  kekId: string;
  wrapped: Uint8Array;
}

export interface KeyStore {
  /**
   * Stores a new subject's first key. Throws `SubjectErased` when the subject has a
   * tombstone and `SubjectKeyExists` when it already has a key: a key store never
   * silently replaces or re-creates a key.
   */
  create(key: WrappedSubjectKey): Promise<void>;
  /** The subject's key or tombstone; undefined when the subject is unknown. */
  find(subjectId: string): Promise<SubjectKeyRecord | undefined>;
  /**
   * Deletes every version of the subject's key and leaves a tombstone, in one step.
   * Idempotent: destroying again returns the first tombstone unchanged.
   * Throws `UnknownSubject` when there is neither key nor tombstone.
   */
  destroy(subjectId: string, requestId: string, at: string): Promise<Tombstone>;
  /**
   * Removes what destroyed keys left in the store's own files, where the engine keeps old
   * row versions (PostgreSQL MVCC: the key table is rewritten). Absent where a destroy
   * already leaves nothing (SQLite with secure_delete and a truncated WAL). Write-ahead logs,
   * archives and backups still hold the wrapped key until they expire or the master key
   * that wrapped it is retired: see the README's operator notes.
   */
  purgeDestroyed?(): Promise<void>;
  /** Up to `limit` active keys wrapped by any master key other than `kekId`. */
  listWrappedByOtherThan(kekId: string, limit: number): Promise<WrappedSubjectKey[]>;
  /** Replaces wrappings atomically; each only if its key is still wrapped by `fromKekId`. Returns how many changed. */
  rewrap(keys: RewrappedKey[]): Promise<number>;
  /** Counts keys per master key id and tombstones, for operators and receipts. */
  stats(): Promise<{ activeKeysByKek: Record<string, number>; tombstones: number }>;
  close(): Promise<void>;
}
