import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, fsyncSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { KEY_BYTES } from './aead.ts';

/** A master key (KEK): wraps subject data keys; never wraps events directly. */
export interface MasterKey {
  /** Derived from the key by a one-way hash: names the key without revealing it. */
  id: string;
  key: Buffer;
}

/** The current master key (wraps new keys) and older ones still needed to unwrap until a rewrap finishes. */
export interface MasterKeys {
  current: MasterKey;
  byId: ReadonlyMap<string, MasterKey>;
}

export function masterKeyId(key: Uint8Array): string {
  return createHash('sha256').update('crm-master-key-id:').update(key).digest('hex').slice(0, 16);
}

export function parseMasterKey(encoded: string, name: string): MasterKey {
  const key = Buffer.from(encoded.trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`${name} must be ${KEY_BYTES} bytes, base64-encoded`);
  return { id: masterKeyId(key), key };
}

export function masterKeys(current: MasterKey, previous: MasterKey[] = []): MasterKeys {
  return { current, byId: new Map([current, ...previous].map((k) => [k.id, k])) };
}

export function generateMasterKey(): MasterKey {
  const key = randomBytes(KEY_BYTES);
  return { id: masterKeyId(key), key };
}

/**
 * Master keys from a file: one base64 key per line, the current one first, then older
 * ones still needed for unwrapping. Only for the embedded default; production passes
 * CRM_MASTER_KEY from a secret store or KMS.
 */
export function readMasterKeyFile(path: string): MasterKeys {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const [first, ...rest] = lines.map((l, i) => parseMasterKey(l, `${path} line ${i + 1}`));
  if (!first) throw new Error(`${path} holds no master key`);
  return masterKeys(first, rest);
}

/** Writes the file atomically (temp file, fsync, rename) with owner-only permissions. */
export function writeMasterKeyFile(path: string, keys: MasterKey[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, keys.map((k) => k.key.toString('base64')).join('\n') + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  chmodSync(path, 0o600);
}

export interface MasterKeySource {
  keys: MasterKeys;
  /** Where the keys came from, for the start-up banner; never the key itself. */
  origin: 'environment' | 'file' | 'generated';
  /** The embedded key file, when keys come from one. */
  file?: string;
}

/**
 * CRM_MASTER_KEY (and CRM_PREVIOUS_MASTER_KEYS, comma-separated) win; otherwise the
 * embedded key file; otherwise a new key is generated into that file (the caller warns).
 */
export function loadMasterKeys(env: { masterKey?: string; previousMasterKeys?: string }, file: string): MasterKeySource {
  if (env.masterKey) {
    const previous = (env.previousMasterKeys ?? '')
      .split(',')
      .filter((s) => s.trim() !== '')
      .map((s, i) => parseMasterKey(s, `CRM_PREVIOUS_MASTER_KEYS[${i}]`));
    return { keys: masterKeys(parseMasterKey(env.masterKey, 'CRM_MASTER_KEY'), previous), origin: 'environment' };
  }
  if (existsSync(file)) return { keys: readMasterKeyFile(file), origin: 'file', file };
  const key = generateMasterKey();
  writeMasterKeyFile(file, [key]);
  return { keys: masterKeys(key), origin: 'generated', file };
}
