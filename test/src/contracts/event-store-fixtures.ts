import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { EventMetadata, EventStore, EventToAppend, RecordedEvent } from '@crm/core';

export function probeEvent(data: unknown = {}, metadata: Partial<EventMetadata> = {}): EventToAppend {
  return {
    eventId: randomUUID(),
    type: 'ProbeRecorded',
    schemaVersion: 1,
    data,
    metadata: { subjectIds: [], ...metadata },
  };
}

/** `count` events whose data is `{ tag, n }` with n = 0..count-1. */
export function probeEvents(count: number, tag = 'probe'): EventToAppend[] {
  return Array.from({ length: count }, (_, n) => probeEvent({ tag, n }));
}

/** Every event of the store, paging through readAll. */
export async function readEverything(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const after = events.at(-1)?.globalPosition ?? 0;
    const page = await store.readAll({ after });
    if (page.length === 0) return events;
    // Also keeps a store that ignores `after` from looping here for ever.
    assert.ok((page[0]?.globalPosition ?? 0) > after, `readAll({ after: ${after} }) returns only later events`);
    events.push(...page);
  }
}

/** Rejects with `what` when `promise` does not settle within `ms`: a hang becomes a failure. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A running subscription that records what it receives. */
export interface SubscriptionProbe {
  readonly after: number;
  readonly events: RecordedEvent[];
  /** Resolves once an event at or beyond `position` arrived; rejects if the subscription ends first. */
  reached(position: number): Promise<void>;
  abort(): void;
  /** Settles when the subscription's loop has ended. */
  readonly ended: Promise<void>;
}

export function probeSubscription(store: EventStore, after = 0, signal?: AbortSignal): SubscriptionProbe {
  const controller = new AbortController();
  const events: RecordedEvent[] = [];
  let waiters: { position: number; resolve(): void }[] = [];
  const ended = (async () => {
    const subscription = store.subscribe({
      after,
      signal: signal ? AbortSignal.any([signal, controller.signal]) : controller.signal,
    });
    for await (const event of subscription) {
      events.push(event);
      waiters = waiters.filter((w) => (event.globalPosition >= w.position ? (w.resolve(), false) : true));
    }
  })();
  ended.catch(() => {}); // awaited by the test; this only keeps an early failure from going unhandled
  return {
    after,
    events,
    abort: () => controller.abort(),
    ended,
    reached(position) {
      if ((events.at(-1)?.globalPosition ?? after) >= position) return Promise.resolve();
      const arrived = new Promise<void>((resolve) => waiters.push({ position, resolve }));
      const endedEarly = ended.then(() => {
        throw new Error(`subscription ended before position ${position}`);
      });
      return Promise.race([arrived, endedEarly]);
    },
  };
}
