import { DuplicateIdempotencyKey, checkExpectedVersion, type AppendOptions, type AppendResult, type EventToAppend } from '@crm/core';

export interface AppendRequest {
  streamId: string;
  events: EventToAppend[];
  options: AppendOptions;
}

export interface StreamHead {
  version: number;
  /** Global position of the stream's last event. */
  lastPosition: number;
}

/**
 * What an append transaction read while holding the event log's lock, then kept up to date
 * in memory as the appends of its batch are accepted one after the other.
 */
export interface LogState {
  head: number;
  /** Every stream the batch names that exists (absent = version 0). */
  streams: Map<string, StreamHead>;
  /** Idempotency keys of the batch that are already used. */
  usedKeys: Set<string>;
  /** ISO time of the commit, taken once the lock is held: position and time orders agree. */
  recordedAt: string;
}

export interface EventRow {
  position: number;
  eventId: string;
  streamId: string;
  streamVersion: number;
  type: string;
  schemaVersion: number;
  /** JSON text. */
  data: string;
  /** JSON text. */
  metadata: string;
}

export interface IdempotencyRow {
  key: string;
  scope: string;
  /** JSON text of the AppendResult. */
  result: string;
  /** JSON text. */
  reply: string;
}

/** What a set of appends writes, table by table. */
export interface Rows {
  events: EventRow[];
  streams: ({ streamId: string } & StreamHead)[];
  idempotency: IdempotencyRow[];
}

/** One accepted append: its answer and the rows it writes. */
export interface PlannedAppend {
  result: AppendResult;
  events: EventRow[];
  /** The stream's new head; absent when no events are written. */
  stream?: { streamId: string } & StreamHead;
  idempotency?: IdempotencyRow;
}

/**
 * Decides one append against `state`, with the same rules and in the same order as the
 * SQLite adapter: the idempotency key is checked before the version, so that a retry of an
 * append that already succeeded hears "already done", not "conflict". Throws the append's
 * own error; never changes `state` (see `applyPlan`).
 */
export function planAppend(state: LogState, request: AppendRequest): PlannedAppend {
  const { streamId, events, options } = request;
  const idempotency = options.idempotency;
  if (idempotency && state.usedKeys.has(idempotency.key)) throw new DuplicateIdempotencyKey(idempotency.key);
  const stream = state.streams.get(streamId);
  const current = stream?.version ?? 0;
  checkExpectedVersion(streamId, options.expectedVersion ?? 'any', current);

  let planned: PlannedAppend;
  if (events.length === 0) {
    // Nothing written: positions point at the stream's last event, so "wait until projected
    // up to lastPosition" still means the stream's current state.
    const last = stream?.lastPosition ?? 0;
    planned = { result: { streamId, nextExpectedVersion: current, firstPosition: last, lastPosition: last }, events: [] };
  } else {
    const rows = events.map(
      (event, i): EventRow => ({
        position: state.head + i + 1,
        eventId: event.eventId,
        streamId,
        streamVersion: current + i + 1,
        type: event.type,
        schemaVersion: event.schemaVersion,
        data: JSON.stringify(event.data ?? null),
        metadata: JSON.stringify(event.metadata),
      }),
    );
    const version = current + events.length;
    const lastPosition = state.head + events.length;
    planned = {
      result: { streamId, nextExpectedVersion: version, firstPosition: state.head + 1, lastPosition },
      events: rows,
      stream: { streamId, version, lastPosition },
    };
  }
  if (idempotency) {
    planned.idempotency = {
      key: idempotency.key,
      scope: idempotency.scope,
      result: JSON.stringify(planned.result),
      reply: JSON.stringify(idempotency.reply ?? null),
    };
  }
  return planned;
}

/** Records an accepted append in `state`, so the next append of the batch sees it. */
export function applyPlan(state: LogState, planned: PlannedAppend): void {
  if (planned.stream) {
    const { streamId, version, lastPosition } = planned.stream;
    state.streams.set(streamId, { version, lastPosition });
    state.head = lastPosition;
  }
  if (planned.idempotency) state.usedKeys.add(planned.idempotency.key);
}

/** The rows a set of accepted appends writes; each stream once, at its last head. */
export function rowsOf(plans: readonly PlannedAppend[]): Rows {
  const streams = new Map<string, { streamId: string } & StreamHead>();
  for (const plan of plans) if (plan.stream) streams.set(plan.stream.streamId, plan.stream);
  return {
    events: plans.flatMap((plan) => plan.events),
    streams: [...streams.values()],
    idempotency: plans.flatMap((plan) => (plan.idempotency ? [plan.idempotency] : [])),
  };
}
