/**
 * An in-memory stand-in for the few EventStoreDB calls the store makes, for unit tests only.
 * It copies the documented behaviour the store relies on: per-stream expected revisions checked
 * atomically with the write, 0-based revisions, `$all` positions that are increasing byte-offset-
 * like numbers with gaps, `$>` link events resolved on request, `StreamNotFoundError` on reading
 * a missing stream, and the client's JSON (de)serialisation. It proves the store's own logic,
 * never EventStoreDB itself: that is what the integration spec with CRM_ESDB_URL is for.
 */
import { randomUUID } from 'node:crypto';
import {
  ANY,
  END,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type EventData,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type ResolvedEvent,
  type SubscribeToAllOptions,
} from '@eventstore/db-client';
import type { EsdbClient, LiveSubscription } from './client.ts';

interface StoredRecord {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  created: Date;
  contentType: string;
  data: Uint8Array;
  metadata: Uint8Array | undefined;
  position: Position;
}

export interface InMemoryEsdbOptions {
  /** Servers before 22.6 report no `$all` position on stream reads. Default true. */
  positionsOnStreamReads?: boolean;
}

export class InMemoryEsdb {
  private readonly streams = new Map<string, StoredRecord[]>();
  private readonly all: StoredRecord[] = [];
  private nextOffset = 4096n;
  private readonly listeners = new Set<{ regex: RegExp; onEvent: () => void }>();
  private readonly positionsOnStreamReads: boolean;
  /** Called before each append is applied; a test may throw from it to fail the write. */
  beforeAppend: ((streamName: string, events: EventData[]) => void) | undefined;

  constructor(options: InMemoryEsdbOptions = {}) {
    this.positionsOnStreamReads = options.positionsOnStreamReads ?? true;
    // Traffic that is none of any store's business: a system stream and a foreign one.
    this.write('$stats-127.0.0.1:2113', [{ id: randomUUID(), contentType: 'application/json', type: '$statsCollected', data: {}, metadata: undefined }]);
    this.write('someone-else', [{ id: randomUUID(), contentType: 'application/json', type: 'Foreign', data: {}, metadata: undefined }]);
  }

  /** Number of events in `$all`. */
  get size(): number {
    return this.all.length;
  }

  /** The stream as the server holds it (raw records), for assertions. */
  rawStream(streamName: string): readonly { type: string; id: string }[] {
    return this.streams.get(streamName) ?? [];
  }

  client(): EsdbClient {
    let disposed = false;
    const live = (): void => {
      if (disposed) throw new Error('the client is disposed');
    };
    return {
      appendToStream: async (streamName, events, options = {}) => {
        live();
        await tick();
        live();
        this.beforeAppend?.(streamName, events);
        const expected = options.expectedRevision ?? ANY;
        const stream = this.streams.get(streamName);
        const current = stream && stream.length > 0 ? BigInt(stream.length - 1) : NO_STREAM;
        if (!matches(expected, current)) {
          throw new WrongExpectedVersionError(undefined, { streamName, expected, current });
        }
        const written = this.write(streamName, events);
        return { success: true, nextExpectedRevision: written.at(-1)?.revision ?? -1n, position: written.at(-1)?.position };
      },
      readStream: (streamName, options = {}) => {
        live();
        return this.readStream(streamName, options);
      },
      readAll: (options = {}) => {
        live();
        return this.readAll(options);
      },
      subscribeToAll: (options = {}) => {
        live();
        return this.subscribeToAll(options);
      },
      dispose: async () => {
        disposed = true;
      },
    };
  }

  /** Appends without any check, as another writer would. */
  write(
    streamName: string,
    events: readonly { id: string; contentType: string; type: string; data: unknown; metadata: unknown }[],
  ): StoredRecord[] {
    let stream = this.streams.get(streamName);
    if (!stream) this.streams.set(streamName, (stream = []));
    const written: StoredRecord[] = [];
    for (const event of events) {
      // Byte-offset-like positions: increasing, with gaps of varying size.
      const position = { commit: this.nextOffset, prepare: this.nextOffset };
      this.nextOffset += 100n + BigInt(Math.floor(Math.random() * 400));
      const record: StoredRecord = {
        streamId: streamName,
        id: event.id,
        revision: BigInt(stream.length),
        type: event.type,
        created: new Date(),
        contentType: event.contentType,
        data:
          event.contentType === 'application/json'
            ? Buffer.from(JSON.stringify(event.data), 'utf8')
            : Uint8Array.from(event.data as Uint8Array),
        metadata:
          event.metadata === undefined
            ? undefined
            : event.metadata instanceof Uint8Array
              ? Uint8Array.from(event.metadata)
              : Buffer.from(JSON.stringify(event.metadata), 'utf8'),
        position,
      };
      stream.push(record);
      this.all.push(record);
      written.push(record);
    }
    for (const listener of this.listeners) {
      if (listener.regex.test(streamName)) setImmediate(listener.onEvent);
    }
    return written;
  }

  private async *readStream(streamName: string, options: ReadStreamOptions): AsyncGenerator<ResolvedEvent> {
    await tick();
    const stream = this.streams.get(streamName);
    if (!stream || stream.length === 0) throw new StreamNotFoundError(undefined, streamName);
    const snapshot = [...stream];
    const max = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
    const from = options.fromRevision ?? START;
    const picked: StoredRecord[] = [];
    if ((options.direction ?? FORWARDS) === FORWARDS) {
      const start = from === START ? 0 : from === END ? snapshot.length : Number(from);
      for (let i = start; i < snapshot.length && picked.length < max; i++) picked.push(snapshot[i] as StoredRecord);
    } else {
      const start = from === END ? snapshot.length - 1 : Math.min(Number(from === START ? 0n : from), snapshot.length - 1);
      for (let i = start; i >= 0 && picked.length < max; i--) picked.push(snapshot[i] as StoredRecord);
    }
    for (const record of picked) {
      yield this.resolve(record, options.resolveLinkTos ?? false, this.positionsOnStreamReads);
    }
  }

  private async *readAll(options: ReadAllOptions): AsyncGenerator<AllStreamResolvedEvent> {
    await tick();
    const snapshot = [...this.all];
    const max = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
    const from = options.fromPosition ?? START;
    const picked: StoredRecord[] = [];
    if ((options.direction ?? FORWARDS) === FORWARDS) {
      for (const record of snapshot) {
        if (picked.length >= max) break;
        // Inclusive, as reading `$all` from a position is.
        if (from === END) break;
        if (from !== START && comparePositions(record.position, from) < 0) continue;
        picked.push(record);
      }
    } else {
      for (let i = snapshot.length - 1; i >= 0 && picked.length < max; i--) {
        const record = snapshot[i] as StoredRecord;
        if (from !== END && from !== START && comparePositions(record.position, from) > 0) continue;
        picked.push(record);
      }
    }
    for (const record of picked) yield this.resolve(record, options.resolveLinkTos ?? false, true) as AllStreamResolvedEvent;
  }

  private subscribeToAll(options: SubscribeToAllOptions): LiveSubscription {
    const filter = options.filter;
    const regex = filter && 'regex' in filter ? new RegExp(filter.regex) : /(?:)/;
    let listener: { regex: RegExp; onEvent: () => void } | undefined;
    return {
      listen: (onEvent) => {
        listener = { regex, onEvent };
        this.listeners.add(listener);
      },
      stop: async () => {
        if (listener) this.listeners.delete(listener);
      },
    };
  }

  private resolve(record: StoredRecord, resolveLinkTos: boolean, withPosition: boolean): ResolvedEvent {
    if (resolveLinkTos && record.type === '$>') {
      const target = /^(\d+)@(.+)$/s.exec(Buffer.from(record.data).toString('utf8'));
      const linked = target?.[1] && target[2] ? this.streams.get(target[2])?.[Number(target[1])] : undefined;
      const link = toClientRecord(record, true) as NonNullable<ResolvedEvent['link']>;
      return linked ? { event: toClientRecord(linked, withPosition), link } : { link };
    }
    return { event: toClientRecord(record, withPosition) };
  }
}

function matches(expected: AppendExpectedRevision, current: bigint | typeof NO_STREAM): boolean {
  if (expected === ANY) return true;
  if (expected === NO_STREAM) return current === NO_STREAM;
  if (expected === STREAM_EXISTS) return current !== NO_STREAM;
  return current === expected;
}

function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  return a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;
}

/** As the client's `convertGrpcRecord` builds it. */
function toClientRecord(record: StoredRecord, withPosition: boolean): NonNullable<ResolvedEvent['event']> {
  const isJson = record.contentType === 'application/json';
  const text = Buffer.from(record.data).toString('utf8');
  let metadata: unknown;
  if (record.metadata && record.metadata.length > 0) {
    try {
      metadata = JSON.parse(Buffer.from(record.metadata).toString('utf8'));
    } catch {
      metadata = record.metadata;
    }
  }
  let data: unknown = Uint8Array.from(record.data);
  if (isJson) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  return {
    streamId: record.streamId,
    id: record.id,
    revision: record.revision,
    type: record.type,
    created: record.created,
    isJson,
    data,
    metadata,
    position: withPosition ? record.position : undefined,
  } as NonNullable<ResolvedEvent['event']>;
}

/** Lets other calls interleave, as network round trips do. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
