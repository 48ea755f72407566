import { randomBytes } from 'node:crypto';
import { SealBroken, SubjectErased } from '@crm/contracts';
import type { KeyStore, Tombstone, WrappedSubjectKey } from '../ports/key-store.ts';
import { freshNonce, gcmDecrypt, gcmEncrypt, KEY_BYTES, NONCE_BYTES } from './aead.ts';
import type { MasterKey, MasterKeys } from './master-keys.ts';

/** A subject's data key, unwrapped, held only in process memory. */
export interface SubjectKey {
  subjectId: string;
  version: number;
  key: Buffer;
}

export type KeyLookup = { state: 'active'; key: SubjectKey } | { state: 'destroyed' } | { state: 'unknown' };

export interface KeyringOptions {
  keyStore: KeyStore;
  masterKeys: MasterKeys;
  /**
   * How long an unwrapped key may be served from memory. This bounds how long an erasure
   * takes to reach every running process, and erasure receipts state it.
   */
  cacheTtlMs: number;
  /** Upper bound on cached keys, so memory stays flat with many subjects. */
  cacheSize?: number;
  now?: () => number;
}

const wrapAad = (subjectId: string, version: number) => Buffer.from(`crm-data-key:v1|${subjectId}|${version}`);

function wrap(master: MasterKey, subjectId: string, version: number, key: Buffer): Uint8Array {
  const nonce = freshNonce();
  return Buffer.concat([nonce, gcmEncrypt(master.key, nonce, key, wrapAad(subjectId, version))]);
}

/**
 * Per-subject data keys: created wrapped under the current master key, served from a
 * bounded, time-limited cache, destroyed for good. The single place where key material
 * is unwrapped.
 */
export class Keyring {
  private readonly cache = new Map<string, { key: SubjectKey; expiresAt: number }>();
  /** Tombstones never revert, so a destroyed subject is remembered without expiry. */
  private readonly destroyed = new Set<string>();
  private readonly now: () => number;
  private masterKeys: MasterKeys;

  constructor(private readonly options: KeyringOptions) {
    this.now = options.now ?? Date.now;
    this.masterKeys = options.masterKeys;
  }

  get cacheTtlMs(): number {
    return this.options.cacheTtlMs;
  }

  get currentMasterKeyId(): string {
    return this.masterKeys.current.id;
  }

  /** Switches to new master keys (after a rotation), keeping cached data keys. */
  useMasterKeys(keys: MasterKeys): void {
    this.masterKeys = keys;
  }

  /** Creates the first key of a new subject. Refuses (SubjectErased) a subject that was erased. */
  async createSubjectKey(subjectId: string): Promise<SubjectKey> {
    const key: SubjectKey = { subjectId, version: 1, key: randomBytes(KEY_BYTES) };
    const master = this.masterKeys.current;
    await this.options.keyStore.create({
      subjectId,
      keyVersion: key.version,
      kekId: master.id,
      wrapped: wrap(master, subjectId, key.version, key.key),
      createdAt: new Date(this.now()).toISOString(),
    });
    this.remember(key);
    return key;
  }

  async lookup(subjectId: string): Promise<KeyLookup> {
    if (this.destroyed.has(subjectId)) return { state: 'destroyed' };
    const cached = this.cache.get(subjectId);
    if (cached && cached.expiresAt > this.now()) return { state: 'active', key: cached.key };
    if (cached) this.cache.delete(subjectId);
    const record = await this.options.keyStore.find(subjectId);
    if (!record) return { state: 'unknown' };
    if (record.state === 'destroyed') {
      this.destroyed.add(subjectId);
      return { state: 'destroyed' };
    }
    const key = this.unwrap(record.key);
    this.remember(key);
    return { state: 'active', key };
  }

  /** The subject's key for sealing new data; throws SubjectErased for an erased subject. */
  async activeKey(subjectId: string): Promise<SubjectKey | undefined> {
    const found = await this.lookup(subjectId);
    if (found.state === 'destroyed') throw new SubjectErased(subjectId);
    return found.state === 'active' ? found.key : undefined;
  }

  async isErased(subjectId: string): Promise<boolean> {
    return (await this.lookup(subjectId)).state === 'destroyed';
  }

  /** Destroys every version of the subject's key and leaves a tombstone. Idempotent. */
  async destroySubjectKey(subjectId: string, requestId: string): Promise<Tombstone> {
    const tombstone = await this.options.keyStore.destroy(subjectId, requestId, new Date(this.now()).toISOString());
    this.forget(subjectId);
    this.destroyed.add(subjectId);
    return tombstone;
  }

  /** Drops a cached key, e.g. when another process reports an erasure. */
  forget(subjectId: string): void {
    // Not zero-filled: a seal or open in flight may still hold the buffer.
    this.cache.delete(subjectId);
  }

  /**
   * Rewraps every data key not yet under the current master key. Events are never
   * touched: only the wrapping of data keys changes. Returns how many were rewrapped.
   */
  async rewrapAll(batchSize = 500): Promise<number> {
    const target = this.masterKeys.current;
    let total = 0;
    for (;;) {
      const batch = await this.options.keyStore.listWrappedByOtherThan(target.id, batchSize);
      if (batch.length === 0) return total;
      const rewrapped = batch.map((wrapped) => {
        const key = this.unwrap(wrapped);
        const entry = {
          subjectId: wrapped.subjectId,
          keyVersion: wrapped.keyVersion,
          fromKekId: wrapped.kekId,
          kekId: target.id,
          wrapped: wrap(target, wrapped.subjectId, wrapped.keyVersion, key.key),
        };
        key.key.fill(0);
        return entry;
      });
      total += await this.options.keyStore.rewrap(rewrapped);
    }
  }

  private unwrap(wrapped: WrappedSubjectKey): SubjectKey {
    const master = this.masterKeys.byId.get(wrapped.kekId);
    if (!master) {
      throw new Error(
        `The data key of subject ${wrapped.subjectId} is wrapped by master key ${wrapped.kekId}, which this process was not given (see CRM_PREVIOUS_MASTER_KEYS)`,
      );
    }
    const bytes = Buffer.from(wrapped.wrapped);
    const key = gcmDecrypt(
      master.key,
      bytes.subarray(0, NONCE_BYTES),
      bytes.subarray(NONCE_BYTES),
      wrapAad(wrapped.subjectId, wrapped.keyVersion),
    );
    if (!key || key.length !== KEY_BYTES) throw new SealBroken(`The wrapped key of subject ${wrapped.subjectId} failed authentication`);
    // A buffer of its own: a slice of Node's shared pool would keep a whole 8 KiB block alive per cached key.
    const own = Buffer.allocUnsafeSlow(KEY_BYTES);
    key.copy(own);
    return { subjectId: wrapped.subjectId, version: wrapped.keyVersion, key: own };
  }

  private remember(key: SubjectKey): void {
    const limit = this.options.cacheSize ?? 100_000;
    if (this.cache.size >= limit) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.forget(oldest);
    }
    this.cache.set(key.subjectId, { key, expiresAt: this.now() + this.options.cacheTtlMs });
  }
}
