/**
 * Idempotency records on EventStoreDB: one small stream per key, `P$crm-idempotency-<key>`,
 * holding a little state machine written with expected revisions:
 *
 *   IdempotencyClaimed ──► IdempotencyCompleted            (terminal: the stored result)
 *          └─────────────► IdempotencyReleased ──► (free: the key may be claimed again)
 *
 * An append under a key first claims it (so of concurrent appends under one key only one ever
 * writes events), then appends its events, then completes the claim with the result, or
 * releases it when the server refused the append. ESDB has no write across two streams, so
 * claim, events and completion are three atomic writes, not one; see `recoverExpired` and the
 * README for what that leaves open.
 */
import { randomUUID } from 'node:crypto';
import {
  BACKWARDS,
  END,
  FORWARDS,
  NO_STREAM,
  StreamNotFoundError,
  WrongExpectedVersionError,
  jsonEvent,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { DuplicateIdempotencyKey, type AppendResult, type IdempotencyRecord, type StoredIdempotentResult } from '@crm/core';
import type { EsdbClient } from './client.ts';
import { isPlainObject } from './mapping.ts';
import type { StoreNames } from './names.ts';
import { collect } from './store-log.ts';

export const CLAIMED = 'IdempotencyClaimed';
export const COMPLETED = 'IdempotencyCompleted';
export const RELEASED = 'IdempotencyReleased';

export interface ClaimData {
  claimId: string;
  scope: string;
  reply: unknown;
  /** The port stream the claimed append writes to, and the ids of its events. */
  streamId: string;
  eventIds: string[];
}

export interface CompletedData {
  claimId: string;
  scope: string;
  reply: unknown;
  result: AppendResult;
}

export type KeyState =
  | { kind: 'free'; revision: bigint | undefined }
  | { kind: 'claimed'; revision: bigint; claim: ClaimData; claimedAt: Date }
  | { kind: 'completed'; revision: bigint; record: StoredIdempotentResult };

/** One ESDB event of a key stream, as far as the state machine reads it. */
export interface KeyEvent {
  type: string;
  revision: bigint;
  created: Date;
  data: unknown;
}

/** Folds a key stream (in order) into its state. Pure. */
export function foldKeyState(events: readonly KeyEvent[]): KeyState {
  let state = { kind: 'free', revision: undefined } as KeyState;
  for (const event of events) {
    if (state.kind === 'completed') {
      state = { ...state, revision: event.revision };
      continue;
    }
    const data = isPlainObject(event.data) ? event.data : {};
    if (event.type === CLAIMED && state.kind === 'free') {
      state = { kind: 'claimed', revision: event.revision, claim: data as unknown as ClaimData, claimedAt: event.created };
    } else if (event.type === RELEASED && state.kind === 'claimed' && data.claimId === state.claim.claimId) {
      state = { kind: 'free', revision: event.revision };
    } else if (event.type === COMPLETED) {
      const completed = data as unknown as CompletedData;
      state = {
        kind: 'completed',
        revision: event.revision,
        record: { scope: completed.scope, result: completed.result, reply: completed.reply ?? null },
      };
    } else {
      state = { ...state, revision: event.revision };
    }
  }
  return state;
}

export interface Claim {
  key: string;
  stream: string;
  data: ClaimData;
  /** Revision of the claim event in the key stream. */
  revision: bigint;
}

export interface ClaimedEvents {
  /** ESDB revisions of the first and last claimed event in their stream. */
  first: bigint;
  last: bigint;
}

export interface IdempotencyOptions {
  client: EsdbClient;
  names: StoreNames;
  /** How long a claim may stay open before another process resolves it. */
  leaseMs: number;
  now(): number;
  /** The ESDB name of a port stream. */
  streamName(streamId: string): string;
  /** Rebuilds the result of an append that wrote `events` to `streamId` (for recovery). */
  resultOf(streamId: string, events: ClaimedEvents): Promise<AppendResult>;
}

export class IdempotencyKeys {
  constructor(private readonly options: IdempotencyOptions) {}

  /** Claims `record.key` for an append of `eventIds` to `streamId`; throws DuplicateIdempotencyKey when used. */
  async claim(record: IdempotencyRecord, streamId: string, eventIds: string[]): Promise<Claim> {
    const stream = this.options.names.idempotency(record.key);
    const data: ClaimData = { claimId: randomUUID(), scope: record.scope, reply: record.reply ?? null, streamId, eventIds };
    for (let attempt = 0; attempt < 20; attempt++) {
      let state = await this.read(stream);
      if (state.kind === 'claimed' && this.expired(state)) state = await this.recoverExpired(stream, state);
      if (state.kind !== 'free') throw new DuplicateIdempotencyKey(record.key);
      try {
        const written = await this.options.client.appendToStream(stream, [jsonEvent({ type: CLAIMED, data: { ...data } })], {
          expectedRevision: state.revision ?? NO_STREAM,
        });
        return { key: record.key, stream, data, revision: written.nextExpectedRevision };
      } catch (error) {
        // Someone else wrote to the key stream first: look again.
        if (!(error instanceof WrongExpectedVersionError)) throw error;
      }
    }
    throw new Error('the idempotency key stream keeps changing; giving up');
  }

  /** Records the result of a claimed append. The events are committed: this never throws. */
  async complete(claim: Claim, result: AppendResult): Promise<void> {
    const completed: CompletedData = { claimId: claim.data.claimId, scope: claim.data.scope, reply: claim.data.reply, result };
    const event = () => jsonEvent({ type: COMPLETED, data: { ...completed } });
    try {
      await this.options.client.appendToStream(claim.stream, [event()], { expectedRevision: claim.revision });
      return;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) return; // left open: recovery completes it after the lease
    }
    try {
      // Our claim outlived its lease and another process resolved it. If it released the key
      // and nobody claimed it since, record our result after all.
      const state = await this.read(claim.stream);
      if (state.kind !== 'free') return;
      await this.options.client.appendToStream(claim.stream, [event()], { expectedRevision: state.revision ?? NO_STREAM });
    } catch {
      // Nothing more to do: see the README on what is not atomic.
    }
  }

  /** Frees the key of an append the server refused. */
  async release(claim: Claim): Promise<void> {
    try {
      await this.options.client.appendToStream(claim.stream, [jsonEvent({ type: RELEASED, data: { claimId: claim.data.claimId } })], {
        expectedRevision: claim.revision,
      });
    } catch {
      // Left open: it is released (or completed) once its lease has run out.
    }
  }

  async find(key: string): Promise<StoredIdempotentResult | undefined> {
    const stream = this.options.names.idempotency(key);
    let state = await this.read(stream);
    if (state.kind === 'claimed' && this.expired(state)) state = await this.recoverExpired(stream, state);
    return state.kind === 'completed' ? state.record : undefined;
  }

  private async read(stream: string): Promise<KeyState> {
    const events = await collect(this.options.client.readStream(stream, { direction: FORWARDS, resolveLinkTos: false }));
    return foldKeyState(events.flatMap(toKeyEvent));
  }

  private expired(state: Extract<KeyState, { kind: 'claimed' }>): boolean {
    return this.options.now() - state.claimedAt.getTime() > this.options.leaseMs;
  }

  /**
   * A claim whose lease ran out: its writer died or stalled between claiming and completing.
   * If its events are in their stream the append happened and the claim is completed with its
   * result; otherwise the claim is released. Either write uses the key stream's expected
   * revision, so concurrent recoveries agree.
   */
  private async recoverExpired(stream: string, state: Extract<KeyState, { kind: 'claimed' }>): Promise<KeyState> {
    const { claim } = state;
    const found = await this.findClaimedEvents(claim, state.claimedAt);
    const event = found
      ? jsonEvent({
          type: COMPLETED,
          data: { claimId: claim.claimId, scope: claim.scope, reply: claim.reply, result: await this.options.resultOf(claim.streamId, found) },
        })
      : jsonEvent({ type: RELEASED, data: { claimId: claim.claimId } });
    try {
      await this.options.client.appendToStream(stream, [event], { expectedRevision: state.revision });
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
    }
    return this.read(stream);
  }

  /** Looks for the claim's events in its stream, newest first, back to shortly before the claim. */
  private async findClaimedEvents(claim: ClaimData, claimedAt: Date): Promise<ClaimedEvents | undefined> {
    const firstId = claim.eventIds[0];
    const lastId = claim.eventIds.at(-1);
    if (!firstId || !lastId || typeof claim.streamId !== 'string') return undefined;
    // Both times come from the server; the margin covers a leader change between two clocks.
    const oldest = claimedAt.getTime() - 60_000;
    let last: bigint | undefined;
    const reads = this.options.client.readStream(this.options.streamName(claim.streamId), {
      direction: BACKWARDS,
      fromRevision: END,
      resolveLinkTos: false,
    });
    try {
      for await (const resolved of reads) {
        const event = resolved.event;
        if (!event) continue;
        if (event.id === lastId) last = event.revision;
        if (event.id === firstId) return last === undefined ? undefined : { first: event.revision, last };
        if (event.created.getTime() < oldest) return undefined;
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return undefined;
      throw error;
    }
    return undefined;
  }
}

function toKeyEvent(resolved: ResolvedEvent): KeyEvent[] {
  const event = resolved.event;
  return event ? [{ type: event.type, revision: event.revision, created: event.created, data: event.data }] : [];
}
