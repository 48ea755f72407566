/**
 * The store's ordered log: one ESDB stream (`P$crm-log`) whose revision n links to the event at
 * global position n. It is what makes global positions 1-based, gap-free and strictly increasing
 * on EventStoreDB, whose own `$all` positions are byte offsets.
 *
 * The log is derived from `$all`, never written beside an append: any process of the store
 * reads `$all` after the `$all` position of the last linked event and appends links for the
 * store's events it finds there, in `$all` order, with the log's expected revision. So
 * - the port's streams stay the source of truth and an append to one of them is one atomic
 *   ESDB write; a writer that dies right after it leaves the event unlinked only until the
 *   next `sync()` of any process links it (nothing is lost, nothing can be linked twice);
 * - two processes linking at once conflict on the log's expected revision: the loser reads
 *   what the winner linked and goes on from there. Each event is linked exactly once, and a
 *   stream's events keep their stream order;
 * - positions are assigned when an event is linked, which `append` waits for before it
 *   returns. An event becomes visible to `readAll`/`subscribe` once linked, in log order, so
 *   no reader ever sees position n + 1 before n.
 *
 * Revision 0 of the log is its genesis event: it records the `$all` position before which no
 * event of the store can be, so a new store never scans a shared server's `$all` from the start.
 */
import {
  BACKWARDS,
  END,
  FORWARDS,
  NO_STREAM,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type Position,
  type ResolvedEvent,
} from '@eventstore/db-client';
import type { RecordedEvent } from '@crm/core';
import type { EsdbClient } from './client.ts';
import {
  LINK_EVENT_TYPE,
  LOG_GENESIS_TYPE,
  compareAllPositions,
  globalPositionOfLogRevision,
  linkTarget,
  logRevisionOfGlobalPosition,
  toGenesisEvent,
  toLinkEvent,
  toLogEntry,
  toRecordedEvent,
  toSafeNumber,
  type LogEntry,
} from './mapping.ts';
import type { StoreNames } from './names.ts';

export interface StoreLogOptions {
  client: EsdbClient;
  names: StoreNames;
  /** Events per `$all` page when linking, and per log page when reading. */
  pageSize: number;
  /** Most "event → log position" entries kept in memory. */
  cacheSize: number;
  /** Called after this process appended links (new events became visible). */
  onLinked(): void;
}

interface Tail {
  /** Revision of the log's last entry (0 = only the genesis). */
  revision: bigint;
  /** `$all` position of the last linked event (the genesis anchor when none); undefined = the start of `$all`. */
  position: Position | undefined;
}

/** A stream event to locate in the log: its ESDB stream, revision and, when known, `$all` position. */
export interface EventRef {
  streamName: string;
  revision: bigint;
  position?: Position | undefined;
}

export class StoreLog {
  private readonly client: EsdbClient;
  private readonly names: StoreNames;
  private readonly pageSize: number;
  private readonly cacheSize: number;
  private readonly onLinked: () => void;

  private tail: Tail | undefined;
  /** How far `$all` was read past `tail.position` finding nothing to link, valid while the tail is at `scannedAt`. */
  private scanned: { position: Position; at: bigint } | undefined;
  /** Link target ("revision@stream") → log revision. Insertion-ordered: the oldest is evicted first. */
  private readonly located = new Map<string, bigint>();
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private started: Promise<void> | undefined;

  constructor(options: StoreLogOptions) {
    this.client = options.client;
    this.names = options.names;
    this.pageSize = options.pageSize;
    this.cacheSize = options.cacheSize;
    this.onLinked = options.onLinked;
  }

  /**
   * Links every event of the store that `$all` holds at the time of the call. Concurrent calls
   * share passes: each resolves after a whole pass that started after it was called.
   */
  sync(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.startPass();
    this.queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.startPass();
      });
    return this.queued;
  }

  /**
   * Makes sure the log (and so its anchor) exists. Every writer awaits this before its first
   * append: an event written before the genesis could lie before the anchor and never be linked.
   */
  start(): Promise<void> {
    this.started ??= this.readTail().then(
      (tail) => {
        this.tail ??= tail;
      },
      (error: unknown) => {
        this.started = undefined;
        throw error;
      },
    );
    return this.started;
  }

  /** The global position of the last linked event, after a sync. */
  async head(): Promise<number> {
    await this.sync();
    return toSafeNumber(this.tail?.revision ?? 0n, 'global position');
  }

  /** Up to `limit` events after global position `after`, in log order. */
  async read(after: number, limit: number): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    if (limit === 0) return events;
    const reads = this.client.readStream(this.names.log, {
      fromRevision: logRevisionOfGlobalPosition(after) + 1n,
      direction: FORWARDS,
      maxCount: limit,
      resolveLinkTos: true,
    });
    for (const resolved of await collect(reads)) {
      const link = resolved.link;
      const event = resolved.event;
      if (!link) {
        if (event?.type === LOG_GENESIS_TYPE) continue;
        throw new Error(`entry ${String(event?.revision)} of the store's log is not a link`);
      }
      if (!event || event.type === LINK_EVENT_TYPE) {
        throw new Error(`global position ${link.revision} links to an event that no longer exists`);
      }
      const streamId = this.names.streamIdOf(event.streamId);
      if (streamId === undefined) throw new Error(`global position ${link.revision} links outside the store`);
      this.remember(linkTarget(event.streamId, event.revision), link.revision);
      events.push(toRecordedEvent(event, streamId, globalPositionOfLogRevision(link.revision)));
    }
    return events;
  }

  /**
   * The global positions of stream events, in the order given (which must be stream order).
   * From memory when this process linked or read them; otherwise searched in the log (a
   * binary search by `$all` position when the server reports it), after a sync if needed.
   */
  async locate(refs: readonly EventRef[]): Promise<number[]> {
    const positions: number[] = [];
    let synced = false;
    let lowest = 1n;
    for (const ref of refs) {
      const target = linkTarget(ref.streamName, ref.revision);
      const find = async () => this.located.get(target) ?? (ref.position ? await this.binarySearch(target, ref.position, lowest) : undefined);
      let revision = await find();
      if (revision === undefined && !synced) {
        // Perhaps not linked yet (its writer is linking it, or died before it could).
        synced = true;
        await this.sync();
        revision = await find();
      }
      // No position to search by (servers before 22.6), or one that did not match: page back.
      revision ??= await this.scanBackwards(target, lowest);
      if (revision === undefined) throw new Error(`event ${ref.revision} of a stream is not in the store's log`);
      this.remember(target, revision);
      lowest = revision + 1n;
      positions.push(globalPositionOfLogRevision(revision));
    }
    return positions;
  }

  private startPass(): Promise<void> {
    const pass: Promise<void> = this.linkNewEvents().then(
      () => {
        if (this.running === pass) this.running = undefined;
      },
      (error: unknown) => {
        if (this.running === pass) this.running = undefined;
        // What this process believed about the log may be stale now: read it again next time.
        this.tail = undefined;
        this.scanned = undefined;
        throw error;
      },
    );
    this.running = pass;
    return pass;
  }

  private async linkNewEvents(): Promise<void> {
    for (;;) {
      const tail = this.tail ?? (this.tail = await this.readTail());
      const from =
        this.scanned && this.scanned.at === tail.revision ? this.scanned.position : tail.position;
      // One more than a page: reading from a position may include the event at that position.
      const page = await collect(
        this.client.readAll({
          fromPosition: from ?? START,
          direction: FORWARDS,
          maxCount: this.pageSize + 1,
          resolveLinkTos: false,
        }),
      );
      const toLink: { streamId: string; revision: bigint; id: string; position: Position }[] = [];
      let last: Position | undefined;
      for (const { event } of page) {
        if (!event) continue;
        if (from && compareAllPositions(event.position, from) <= 0) continue;
        last = event.position;
        if (event.type.startsWith('$') || this.names.streamIdOf(event.streamId) === undefined) continue;
        toLink.push({ streamId: event.streamId, revision: event.revision, id: event.id, position: event.position });
      }
      if (toLink.length > 0) {
        try {
          await this.client.appendToStream(this.names.log, toLink.map(toLinkEvent), { expectedRevision: tail.revision });
        } catch (error) {
          if (!(error instanceof WrongExpectedVersionError)) throw error;
          // Another process linked first: learn what it linked, then go on after it.
          await this.absorb(tail);
          continue;
        }
        toLink.forEach((event, i) => this.remember(linkTarget(event.streamId, event.revision), tail.revision + BigInt(i + 1)));
        this.tail = { revision: tail.revision + BigInt(toLink.length), position: toLink.at(-1)?.position };
        this.onLinked();
      }
      if (last) this.scanned = { position: last, at: this.tail?.revision ?? tail.revision };
      if (page.length <= this.pageSize) return;
    }
  }

  /** Reads the log entries after `tail` that another process appended. */
  private async absorb(tail: Tail): Promise<void> {
    let next: Tail = tail;
    const entries = this.client.readStream(this.names.log, {
      fromRevision: tail.revision + 1n,
      direction: FORWARDS,
      resolveLinkTos: false,
    });
    for (const resolved of await collect(entries)) {
      const entry = this.entryOf(resolved);
      if (entry.kind !== 'link') continue;
      this.remember(entry.target, entry.revision);
      next = { revision: entry.revision, position: entry.position };
    }
    this.tail = next;
    this.scanned = undefined;
  }

  private async readTail(): Promise<Tail> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const [last] = await collect(
        this.client.readStream(this.names.log, { direction: BACKWARDS, fromRevision: END, maxCount: 1, resolveLinkTos: false }),
      );
      if (last) {
        const entry = this.entryOf(last);
        return { revision: entry.revision, position: entry.kind === 'genesis' ? entry.anchor : entry.position };
      }
      await this.writeGenesis();
    }
    throw new Error("the store's log could not be created");
  }

  /** Starts the log, anchored at the current end of `$all` (no event of this store can be before it). */
  private async writeGenesis(): Promise<void> {
    const [newest] = await collect(this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 }));
    try {
      await this.client.appendToStream(this.names.log, [toGenesisEvent(newest?.event?.position)], {
        expectedRevision: NO_STREAM,
      });
    } catch (error) {
      // Another process started it first: its anchor is as good.
      if (!(error instanceof WrongExpectedVersionError)) throw error;
    }
  }

  private entryOf(resolved: ResolvedEvent): LogEntry {
    const raw = resolved.link ?? resolved.event;
    if (!raw) throw new Error("an entry of the store's log has no event");
    const entry = toLogEntry(raw);
    if (entry.kind === 'link' && !entry.position) {
      throw new Error(`entry ${entry.revision} of the store's log has no $all position`);
    }
    return entry;
  }

  /** Links are in `$all` order, so their `$all` positions are sorted. */
  private async binarySearch(target: string, position: Position, lowest: bigint): Promise<bigint | undefined> {
    const tail = this.tail ?? (this.tail = await this.readTail());
    let lo = lowest < 1n ? 1n : lowest;
    let hi = tail.revision;
    while (lo <= hi) {
      const mid = (lo + hi) / 2n;
      const [resolved] = await collect(
        this.client.readStream(this.names.log, { fromRevision: mid, direction: FORWARDS, maxCount: 1, resolveLinkTos: false }),
      );
      if (!resolved) return undefined;
      const entry = this.entryOf(resolved);
      if (entry.kind !== 'link' || !entry.position) return undefined;
      // By prepare position, the event's own place in the transaction file: it orders `$all`
      // for every append made without a (legacy) explicit transaction, as all of this store's are.
      const order = entry.position.prepare === position.prepare ? 0 : entry.position.prepare < position.prepare ? -1 : 1;
      if (order === 0) return entry.target === target ? entry.revision : undefined;
      if (order < 0) lo = mid + 1n;
      else hi = mid - 1n;
    }
    return undefined;
  }

  /** Pages backwards from the tail: for servers that report no `$all` position on stream reads. */
  private async scanBackwards(target: string, lowest: bigint): Promise<bigint | undefined> {
    const tail = this.tail ?? (this.tail = await this.readTail());
    let from = tail.revision;
    while (from >= lowest && from >= 1n) {
      const page = await collect(
        this.client.readStream(this.names.log, {
          fromRevision: from,
          direction: BACKWARDS,
          maxCount: this.pageSize,
          resolveLinkTos: false,
        }),
      );
      if (page.length === 0) return undefined;
      for (const resolved of page) {
        const entry = this.entryOf(resolved);
        if (entry.kind !== 'link') return undefined;
        if (entry.target === target) return entry.revision;
        if (entry.revision <= lowest) return undefined;
        from = entry.revision - 1n;
      }
    }
    return undefined;
  }

  private remember(target: string, revision: bigint): void {
    this.located.delete(target);
    this.located.set(target, revision);
    if (this.located.size > this.cacheSize) {
      const oldest = this.located.keys().next();
      if (!oldest.done) this.located.delete(oldest.value);
    }
  }
}

/** Reads a whole (bounded) ESDB read into memory; a stream that does not exist reads as empty. */
export async function collect<T>(read: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  try {
    for await (const item of read) items.push(item);
  } catch (error) {
    if (error instanceof StreamNotFoundError) return items;
    throw error;
  }
  return items;
}
