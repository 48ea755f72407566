/**
 * The limit under sealing, for store-append: AES-256-GCM straight from node:crypto on the bytes
 * `sealEvent` seals in the sealed variant (the JSON of the event's personal fields, ~200 bytes),
 * against ours: `sealEvent` and `openEvent` with the real Keyring (keys cached) on the same
 * events. Single-threaded, one event after the other, N of each.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomerDetailsChanged } from '@crm/contracts';
import { type EventMetadata, type EventToAppend, generateMasterKey, Keyring, type KeyStore, masterKeys, openEvent, type RecordedEvent, sealEvent } from '@crm/core';
import { customerStream } from '@crm/domain';
import { openSqliteKeyStore } from '@crm/sqlite';
import { v7 as uuidv7 } from 'uuid';
import { timed } from './cpu-timed.ts';
import { customerDetails } from './event-payload.ts';

export interface AeadLimitsConfig {
  /** Events sealed and opened in each measured phase. */
  iterations: number;
  /** Events sealed and opened before measuring (JIT), not counted. */
  warmup: number;
  /** Subjects (one key each) the events are spread over, round robin. */
  subjects: number;
  payloadBytes: number;
  keyCacheTtlMs: number;
}

export interface CryptoRate {
  opsPerSec: number;
  microsPerOp: number;
  cpuPercent: number;
}

export interface AeadFigures {
  raw: { seal: CryptoRate; open: CryptoRate };
  ours: { seal: CryptoRate; open: CryptoRate };
  /** Bytes of plaintext per raw seal: the event's personal fields as JSON. */
  plaintextBytes: number;
  keySetupSeconds: number;
}

const GCM_IV_BYTES = 12;
const AES_256_KEY_BYTES = 32;

/** One `CustomerDetailsChanged` of a subject, as the sealed variant's event factory builds it. */
interface DetailsEvent {
  subject: number;
  subjectId: string;
  eventId: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
}

function detailsEvents(subjectIds: readonly string[], count: number, payloadBytes: number): DetailsEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const subject = i % subjectIds.length;
    const subjectId = subjectIds[subject]!;
    return { subject, subjectId, eventId: uuidv7(), data: customerDetails(subjectId, i + 1, payloadBytes), metadata: { subjectIds: [subjectId] } };
  });
}

/** What `sealEvent` seals of these events: every field but `customerId` (see personalBytes). */
function personalPlaintext(data: Record<string, unknown>): Buffer {
  const { customerId: _id, ...personal } = data;
  return Buffer.from(JSON.stringify(personal));
}

const rate = (ops: number, phase: { seconds: number; cpuPercent: number }): CryptoRate => ({
  opsPerSec: ops / phase.seconds,
  microsPerOp: (phase.seconds * 1e6) / ops,
  cpuPercent: phase.cpuPercent,
});

interface RawSealed {
  iv: Buffer;
  body: Buffer;
  tag: Buffer;
}

/**
 * Raw AES-256-GCM over `plaintexts[i]` under `keys[i]`, each with its own random IV. The IVs
 * are drawn in one call for the whole phase (and timed with it): the cheapest way node:crypto
 * hands out random bytes (a `randomBytes(12)` per value costs about as much as the cipher).
 */
function rawSealAll(keys: readonly Buffer[], plaintexts: readonly Buffer[]): RawSealed[] {
  const ivs = randomFillSync(Buffer.allocUnsafe(plaintexts.length * GCM_IV_BYTES));
  return plaintexts.map((plaintext, i) => {
    const iv = ivs.subarray(i * GCM_IV_BYTES, (i + 1) * GCM_IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', keys[i]!, iv);
    // GCM is a stream mode: update() gives every ciphertext byte, final() only completes the tag.
    const body = cipher.update(plaintext);
    cipher.final();
    return { iv, body, tag: cipher.getAuthTag() };
  });
}

function rawOpenAll(keys: readonly Buffer[], sealed: readonly RawSealed[]): Buffer[] {
  return sealed.map(({ iv, body, tag }, i) => {
    const decipher = createDecipheriv('aes-256-gcm', keys[i]!, iv);
    decipher.setAuthTag(tag);
    const plaintext = decipher.update(body);
    decipher.final(); // throws if the tag does not authenticate
    return plaintext;
  });
}

async function measureRaw(keys: readonly Buffer[], events: readonly DetailsEvent[], config: AeadLimitsConfig) {
  const plaintexts = events.map((e) => personalPlaintext(e.data));
  const keyOf = events.map((e) => keys[e.subject]!);
  rawOpenAll(keyOf.slice(0, config.warmup), rawSealAll(keyOf.slice(0, config.warmup), plaintexts.slice(0, config.warmup)));
  const measuredKeys = keyOf.slice(config.warmup);
  const measured = plaintexts.slice(config.warmup);
  const seal = await timed(() => rawSealAll(measuredKeys, measured));
  const open = await timed(() => rawOpenAll(measuredKeys, seal.value));
  if (!open.value[0]?.equals(measured[0]!)) throw new Error('raw AES-256-GCM did not give the sealed bytes back');
  return { seal: rate(measured.length, seal), open: rate(measured.length, open), plaintextBytes: measured[0]!.length };
}

/** The stored form of a sealed event as a read gives it back (data through JSON, as the store keeps it). */
function asRecorded(event: EventToAppend, position: number): RecordedEvent {
  return {
    ...event,
    data: JSON.parse(JSON.stringify(event.data)) as unknown,
    streamId: customerStream(event.metadata.subjectIds[0]!),
    streamVersion: 1,
    globalPosition: position,
    recordedAt: new Date().toISOString(),
  };
}

async function sealEach(keyring: Keyring, events: readonly DetailsEvent[]): Promise<EventToAppend[]> {
  const sealed: EventToAppend[] = [];
  for (const e of events) sealed.push(await sealEvent(keyring, { type: CustomerDetailsChanged.type, data: e.data }, e.eventId, e.metadata));
  return sealed;
}

async function openEach(keyring: Keyring, recorded: readonly RecordedEvent[]): Promise<Record<string, unknown>[]> {
  const opened: Record<string, unknown>[] = [];
  for (const r of recorded) opened.push((await openEvent(r, keyring)).data as Record<string, unknown>);
  return opened;
}

async function measureOurs(keyring: Keyring, events: readonly DetailsEvent[], config: AeadLimitsConfig) {
  const warm = events.slice(0, config.warmup);
  await openEach(keyring, (await sealEach(keyring, warm)).map((e, i) => asRecorded(e, i + 1)));
  const measured = events.slice(config.warmup);
  const seal = await timed(() => sealEach(keyring, measured));
  const recorded = seal.value.map((e, i) => asRecorded(e, i + 1)); // a read's work, not timed here
  const open = await timed(() => openEach(keyring, recorded));
  if (open.value[0]?.email !== measured[0]!.data.email) throw new Error('openEvent did not give the sealed fields back');
  return { seal: rate(measured.length, seal), open: rate(measured.length, open) };
}

/**
 * Seals and opens the same events raw and ours (`oursFirst` decides the order, so neither always
 * gets the fresher machine). The Keyring's subject keys are created up front (not timed) in a
 * SQLite key store in a temp folder, so every lookup is a cache hit, as on a warm API process.
 */
export async function runAeadLimits(config: AeadLimitsConfig, oursFirst: boolean): Promise<AeadFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-bench-aead-'));
  let keyStore: KeyStore | undefined;
  try {
    const subjectIds = Array.from({ length: config.subjects }, () => uuidv7());
    const events = detailsEvents(subjectIds, config.warmup + config.iterations, config.payloadBytes);
    keyStore = openSqliteKeyStore({ path: join(dir, 'keys.sqlite') });
    const keyring = new Keyring({ keyStore, masterKeys: masterKeys(generateMasterKey()), cacheTtlMs: config.keyCacheTtlMs });
    const keysStarted = performance.now();
    // All at once: the key store group-commits them (setup only).
    await Promise.all(subjectIds.map((id) => keyring.createSubjectKey(id)));
    const keySetupSeconds = (performance.now() - keysStarted) / 1000;
    const rawKeys = subjectIds.map(() => randomBytes(AES_256_KEY_BYTES));

    const ours = oursFirst ? await measureOurs(keyring, events, config) : undefined;
    const raw = await measureRaw(rawKeys, events, config);
    const oursAfter = ours ?? (await measureOurs(keyring, events, config));
    return { raw: { seal: raw.seal, open: raw.open }, ours: oursAfter, plaintextBytes: raw.plaintextBytes, keySetupSeconds };
  } finally {
    await keyStore?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
