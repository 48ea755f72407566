import { type Decider, type DomainEvent } from '@crm/domain';
import { openEvent } from '../events/codec.ts';
import type { EventStore } from '../ports/event-store.ts';

export interface StreamState<State = unknown> {
  state: State;
  /** Stream version the state reflects; 0 for a stream that does not exist. */
  version: number;
  /** Global position of the stream's last event; 0 for none. */
  position: number;
}

/**
 * Write-side states by stream, kept in a bounded LRU. A cached state is used without
 * reading the store: the append's expected version catches any staleness (another
 * process wrote meanwhile), and the command service then reloads with `fresh` and
 * decides again. States hold no personal data: deciders fold events with personal
 * values withheld.
 */
export class StreamStates {
  private readonly cache = new Map<string, StreamState>();

  constructor(
    private readonly store: EventStore,
    private readonly capacity = 10_000,
  ) {}

  async load<State, Event extends DomainEvent>(
    streamId: string,
    decider: Decider<State, Event>,
    options: { fresh?: boolean } = {},
  ): Promise<StreamState<State>> {
    const cached = this.cache.get(streamId) as StreamState<State> | undefined;
    if (cached && !options.fresh) return this.touch(streamId, cached);
    const start: StreamState<State> = cached ?? { state: decider.initialState(), version: 0, position: 0 };
    const recorded = await this.store.readStream(streamId, { afterVersion: start.version });
    if (recorded.length === 0 && cached) return this.touch(streamId, cached);
    const events = await Promise.all(recorded.map((r) => openEvent(r, 'withheld')));
    const last = recorded.at(-1);
    const next: StreamState<State> = {
      state: events.reduce((s, e) => decider.evolve(s, e as unknown as Event), start.state),
      version: last?.streamVersion ?? start.version,
      position: last?.globalPosition ?? start.position,
    };
    return next.version === 0 ? next : this.touch(streamId, next);
  }

  /** Records the state after a successful append, without reading it back. */
  advance<State, Event extends DomainEvent>(
    streamId: string,
    decider: Decider<State, Event>,
    from: StreamState<State>,
    events: readonly Event[],
    version: number,
    position: number,
  ): StreamState<State> {
    return this.touch(streamId, { state: events.reduce((s, e) => decider.evolve(s, e), from.state), version, position });
  }

  evict(streamId: string): void {
    this.cache.delete(streamId);
  }

  private touch<State>(streamId: string, entry: StreamState<State>): StreamState<State> {
    this.cache.delete(streamId);
    this.cache.set(streamId, entry);
    if (this.cache.size > this.capacity) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return entry;
  }
}

