/**
 * Pure mappings between the port's shapes and EventStoreDB's. No I/O here, so all of it is
 * unit-tested without a server.
 */
import {
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  WrongExpectedVersionError,
  binaryEvent,
  jsonEvent,
  type AppendExpectedRevision,
  type CurrentRevision,
  type EventData,
  type Position,
} from '@eventstore/db-client';
import {
  WrongExpectedVersion,
  assertExpectedVersion,
  type EventMetadata,
  type EventToAppend,
  type ExpectedVersion,
  type RecordedEvent,
} from '@crm/core';

// ---------------------------------------------------------------------------------------------
// Expected version ↔ revision. Our versions are 1-based (first event = version 1, 0 = no
// stream); ESDB revisions are 0-based (first event = revision 0n).

/** 0 / 'no-stream' → NO_STREAM, 'exists' → STREAM_EXISTS, 'any' → ANY, n ≥ 1 → revision n - 1. */
export function toExpectedRevision(expected: ExpectedVersion): AppendExpectedRevision {
  assertExpectedVersion(expected);
  if (expected === 0 || expected === 'no-stream') return NO_STREAM;
  if (expected === 'exists') return STREAM_EXISTS;
  if (expected === 'any') return ANY;
  return BigInt(expected - 1);
}

/** The stream's version (1-based, 0 = absent) from ESDB's current revision. */
export function versionOfRevision(current: CurrentRevision): number {
  if (current === NO_STREAM) return 0;
  if (typeof current !== 'bigint' || current < -1n) throw new RangeError(`not a stream revision: ${String(current)}`);
  return toSafeNumber(current + 1n, 'stream version');
}

/** The ESDB revision (0-based) of the event at `version` (1-based). */
export function revisionOfVersion(version: number): bigint {
  if (!Number.isSafeInteger(version) || version < 1) throw new RangeError('a stream version is a positive integer');
  return BigInt(version - 1);
}

/**
 * Our `WrongExpectedVersion` for ESDB's, or undefined when `error` is something else.
 * `expected` is what the caller passed (kept as given); `actual` is made 1-based (NO_STREAM → 0).
 */
export function toWrongExpectedVersion(
  streamId: string,
  expected: ExpectedVersion,
  error: unknown,
): WrongExpectedVersion | undefined {
  if (!(error instanceof WrongExpectedVersionError)) return undefined;
  return new WrongExpectedVersion(streamId, expected, versionOfRevision(error.actualVersion));
}

// ---------------------------------------------------------------------------------------------
// Events. Data goes to ESDB exactly as given (sealed payloads stay sealed); metadata is the
// clear EventMetadata plus `schemaVersion`.

export type EventMetadataOnWire = EventMetadata & { schemaVersion: number };

export function toEventData(event: EventToAppend): EventData {
  if (!Number.isSafeInteger(event.schemaVersion) || event.schemaVersion < 1) {
    throw new RangeError('schemaVersion must be a positive integer');
  }
  const metadata: EventMetadataOnWire = { ...event.metadata, schemaVersion: event.schemaVersion };
  return jsonEvent({
    id: event.eventId,
    type: event.type,
    // The client serialises with JSON.stringify, which takes any JSON value; its type is narrower.
    data: (event.data ?? null) as never,
    metadata,
  });
}

/** The parts of an ESDB recorded event the port needs (a structural subset of the client's RecordedEvent). */
export interface EsdbEventShape {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  created: Date;
  isJson: boolean;
  data: unknown;
  metadata: unknown;
}

/**
 * Rebuilds the port's RecordedEvent: streamVersion = revision + 1, recordedAt from `created`,
 * schemaVersion taken back out of the metadata, globalPosition as found in the store's log.
 */
export function toRecordedEvent(event: EsdbEventShape, streamId: string, globalPosition: number): RecordedEvent {
  if (!event.isJson) throw new Error(`event ${event.id} in ${event.streamId} is not JSON; this store writes only JSON events`);
  const metadata = event.metadata;
  if (!isPlainObject(metadata)) throw new Error(`event ${event.id} in ${event.streamId} has no JSON metadata`);
  const { schemaVersion, ...rest } = metadata;
  if (typeof schemaVersion !== 'number' || !Number.isSafeInteger(schemaVersion)) {
    throw new Error(`event ${event.id} in ${event.streamId} has no schemaVersion in its metadata`);
  }
  return {
    eventId: event.id,
    type: event.type,
    schemaVersion,
    data: event.data,
    metadata: rest as unknown as EventMetadata,
    streamId,
    streamVersion: toSafeNumber(event.revision + 1n, 'stream version'),
    globalPosition,
    recordedAt: event.created.toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------
// Positions. The port's global position n is the revision n of the store's log stream
// (revision 0 is the log's genesis event, so the first event is at 1 and there are no gaps).
// ESDB's own `$all` positions (byte offsets) only travel in the log's link metadata.

export function globalPositionOfLogRevision(revision: bigint): number {
  if (revision < 1n) throw new RangeError('log revision 0 is the genesis event, not an event of the store');
  return toSafeNumber(revision, 'global position');
}

export function logRevisionOfGlobalPosition(position: number): bigint {
  if (!Number.isSafeInteger(position) || position < 0) throw new RangeError('a global position is a non-negative integer');
  return BigInt(position);
}

/** Orders `$all` positions: by commit, then prepare. */
export function compareAllPositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

export interface EncodedAllPosition {
  commit: string;
  prepare: string;
}

export function encodeAllPosition(position: Position): EncodedAllPosition {
  return { commit: position.commit.toString(10), prepare: position.prepare.toString(10) };
}

export function decodeAllPosition(value: unknown): Position | undefined {
  if (!isPlainObject(value)) return undefined;
  const { commit, prepare } = value;
  if (typeof commit !== 'string' || typeof prepare !== 'string') return undefined;
  if (!/^\d+$/.test(commit) || !/^\d+$/.test(prepare)) return undefined;
  return { commit: BigInt(commit), prepare: BigInt(prepare) };
}

// ---------------------------------------------------------------------------------------------
// The log: a genesis event, then one ESDB link event (`$>`, data "revision@stream") per event.

export const LINK_EVENT_TYPE = '$>';
export const LOG_GENESIS_TYPE = 'CrmLogStarted';

export interface LogGenesis {
  format: 1;
  /** `$all` position before which no event of this store can be; null = the start of `$all`. */
  anchor: EncodedAllPosition | null;
}

export interface LinkMetadata {
  /** `$all` commit and prepare position of the linked event, as decimal strings. */
  $c: string;
  $p: string;
  /** The linked event's id. */
  $causedBy: string;
}

/** The data of a link event: ESDB resolves "revision@stream" to that event on reads. */
export function linkTarget(streamName: string, revision: bigint): string {
  return `${revision.toString(10)}@${streamName}`;
}

export function parseLinkTarget(target: string): { streamName: string; revision: bigint } | undefined {
  const match = /^(\d+)@(.+)$/s.exec(target);
  if (!match?.[1] || !match[2]) return undefined;
  return { revision: BigInt(match[1]), streamName: match[2] };
}

export function toLinkEvent(target: { streamId: string; revision: bigint; id: string; position: Position }): EventData {
  const metadata: LinkMetadata = {
    $c: target.position.commit.toString(10),
    $p: target.position.prepare.toString(10),
    $causedBy: target.id,
  };
  return binaryEvent({
    type: LINK_EVENT_TYPE,
    data: Buffer.from(linkTarget(target.streamId, target.revision), 'utf8'),
    metadata,
  });
}

export function toGenesisEvent(anchor: Position | undefined): EventData {
  const data: LogGenesis = { format: 1, anchor: anchor ? encodeAllPosition(anchor) : null };
  return jsonEvent({ type: LOG_GENESIS_TYPE, data: data as unknown as Record<string, unknown> });
}

/** What one log entry (read without resolving links) says. */
export type LogEntry =
  | { kind: 'genesis'; revision: bigint; anchor: Position | undefined }
  | { kind: 'link'; revision: bigint; target: string; position: Position | undefined };

/** Reads a raw (unresolved) event of the log stream. */
export function toLogEntry(event: EsdbEventShape): LogEntry {
  if (event.type === LOG_GENESIS_TYPE) {
    const data = isPlainObject(event.data) ? event.data : {};
    return { kind: 'genesis', revision: event.revision, anchor: decodeAllPosition(data.anchor) };
  }
  if (event.type !== LINK_EVENT_TYPE) throw new Error(`unexpected ${event.type} event at revision ${event.revision} of the log`);
  const target = typeof event.data === 'string' ? event.data : Buffer.from(event.data as Uint8Array).toString('utf8');
  const metadata = metadataObject(event.metadata);
  const position = decodeAllPosition({ commit: metadata?.$c, prepare: metadata?.$p });
  return { kind: 'link', revision: event.revision, target, position };
}

function metadataObject(metadata: unknown): Record<string, unknown> | undefined {
  if (isPlainObject(metadata)) return metadata;
  if (metadata instanceof Uint8Array) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(metadata).toString('utf8'));
      return isPlainObject(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

export function toSafeNumber(value: bigint, what: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} ${value} is out of range`);
  return Number(value);
}
