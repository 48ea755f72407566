import { type ConcretePath, type PersonalDataGroup, personalFieldsBySubject, readPath, SealBroken, UnknownSubject, writePath } from '@crm/contracts';
import { freshNonce, gcmDecrypt, gcmEncrypt, NONCE_BYTES } from './aead.ts';
import type { Keyring, SubjectKey } from './keyring.ts';

/**
 * One subject's personal fields of one event, sealed as a single AES-256-GCM value.
 * `paths` and `subjectId` are clear so that a reader knows which key to fetch and
 * where the values go, without decrypting anything.
 */
export interface SealedValue {
  subjectId: string;
  paths: ConcretePath[];
  /** base64url of: format version (1 byte) | key id = subject uuid (16) | key version (u32 BE) | nonce (12) | ciphertext | tag (16). */
  value: string;
}

/** How an event's data is stored: non-personal fields in clear, personal fields sealed per subject. */
export interface SealedEventData {
  plain: Record<string, unknown>;
  sealed: SealedValue[];
}

/** What replaces a personal value whose key was destroyed (or never reached this store). */
export const ERASED_VALUE = null;

const FORMAT_V1 = 1;
const HEADER_BYTES = 1 + 16 + 4 + NONCE_BYTES;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * A subject id as the 16 bytes of the header, in hex. Written into and compared with the
 * header in place: no buffer per subject (a small Buffer is a slice of Node's shared 8 KiB
 * pool, so a cache of them kept a whole pool block alive per subject: 113 MiB for 53,000
 * subjects during a rebuild).
 */
function keyIdHex(uuid: string): string {
  if (!UUID.test(uuid)) throw new TypeError('subject ids must be UUIDs');
  return uuid.replace(/-/g, '').toLowerCase();
}

/** Binds the ciphertext to its header, its event, its subject and its exact field set. */
function associatedData(header: Buffer, eventId: string, subjectId: string, paths: readonly string[]): Buffer {
  return Buffer.concat([header, Buffer.from(`|${eventId}|${subjectId}|${paths.join(',')}`)]);
}

export function sealValue(key: SubjectKey, eventId: string, paths: readonly string[], plaintext: Buffer): string {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(FORMAT_V1, 0);
  header.write(keyIdHex(key.subjectId), 1, 16, 'hex');
  header.writeUInt32BE(key.version, 17);
  const nonce = freshNonce();
  nonce.copy(header, 21);
  const body = gcmEncrypt(key.key, nonce, plaintext, associatedData(header, eventId, key.subjectId, paths));
  return Buffer.concat([header, body]).toString('base64url');
}

/** The plaintext of a sealed value, or undefined when the key does not open it. */
export function openValue(key: SubjectKey, eventId: string, sealed: SealedValue): Buffer | undefined {
  const bytes = Buffer.from(sealed.value, 'base64url');
  if (bytes.length <= HEADER_BYTES || bytes.readUInt8(0) !== FORMAT_V1) return undefined;
  const header = bytes.subarray(0, HEADER_BYTES);
  if (header.toString('hex', 1, 17) !== keyIdHex(sealed.subjectId) || header.readUInt32BE(17) !== key.version) return undefined;
  return gcmDecrypt(key.key, header.subarray(21), bytes.subarray(HEADER_BYTES), associatedData(header, eventId, sealed.subjectId, sealed.paths));
}

/**
 * Moves every personal field of `data` into one sealed value per subject. The keys of
 * subjects the event creates must exist already. Throws SubjectErased for an erased
 * subject and UnknownSubject for one without a key.
 */
export async function sealPersonalFields(
  keyring: Keyring,
  eventId: string,
  groups: readonly PersonalDataGroup[],
  data: Record<string, unknown>,
): Promise<SealedEventData> {
  const bySubject = personalFieldsBySubject(data, groups);
  let plain = data;
  const sealed: SealedValue[] = [];
  for (const { subjectId, paths } of bySubject) {
    if (paths.length === 0) continue;
    const key = await keyring.activeKey(subjectId);
    if (!key) throw new UnknownSubject();
    const values: Record<string, unknown> = {};
    for (const path of paths) {
      values[path] = readPath(data, path);
      plain = withoutPath(plain, path);
    }
    sealed.push({ subjectId, paths, value: sealValue(key, eventId, paths, Buffer.from(JSON.stringify(values))) });
  }
  // `plain` shares untouched parts with `data`: events are never changed once decided.
  return { plain, sealed };
}

/**
 * `root` without the value at `path`, copying only the objects and arrays along the path
 * (copy-on-write): the input is never changed, and nothing else is copied.
 */
function withoutPath(root: Record<string, unknown>, path: ConcretePath): Record<string, unknown> {
  return withoutParts(root, path.split('.'), 0) as Record<string, unknown>;
}

function withoutParts(node: unknown, parts: readonly string[], at: number): unknown {
  const head = parts[at];
  if (head === undefined || node === null || typeof node !== 'object' || !Object.hasOwn(node, head)) return node;
  const copy = (Array.isArray(node) ? [...node] : { ...node }) as Record<string, unknown>;
  if (at === parts.length - 1) delete copy[head];
  else copy[head] = withoutParts(copy[head], parts, at + 1);
  return copy;
}

export interface OpenedEventData {
  data: Record<string, unknown>;
  /** Subjects whose values were replaced because their key is destroyed or unknown here. */
  replacedSubjects: string[];
}

/**
 * Puts each sealed value back in place, opened; a subject whose key is gone gets
 * ERASED_VALUE at each of its paths, so readers always see a defined value.
 * Throws SealBroken when an existing key fails to open a value (tampering or a bug).
 */
export async function openPersonalFields(keyring: Keyring, eventId: string, stored: SealedEventData): Promise<OpenedEventData> {
  const data = structuredClone(stored.plain);
  const replacedSubjects: string[] = [];
  for (const sealed of stored.sealed) {
    const found = await keyring.lookup(sealed.subjectId);
    const opened = found.state === 'active' ? openValue(found.key, eventId, sealed) : undefined;
    if (found.state === 'active' && !opened) {
      throw new SealBroken(`A sealed value of event ${eventId} failed authentication`);
    }
    const values = opened ? (JSON.parse(opened.toString('utf8')) as Record<string, unknown>) : {};
    if (!opened) replacedSubjects.push(sealed.subjectId);
    for (const path of sealed.paths) writePath(data, path, opened ? values[path] : ERASED_VALUE);
  }
  return { data, replacedSubjects };
}

export function isSealedEventData(data: unknown): data is SealedEventData {
  return (
    typeof data === 'object' &&
    data !== null &&
    'plain' in data &&
    'sealed' in data &&
    Array.isArray((data as SealedEventData).sealed)
  );
}
