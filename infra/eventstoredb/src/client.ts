/**
 * The few calls of `@eventstore/db-client` the store makes, behind a narrow interface: the
 * real client is wrapped by `wrapEsdbClient`, and the unit tests drive the store's own logic
 * (log sequencing, idempotency claims) with an in-memory stand-in.
 */
import {
  EventStoreDBClient,
  type AllStreamResolvedEvent,
  type AppendResult,
  type AppendToStreamOptions,
  type EventData,
  type ReadAllOptions,
  type ReadStreamOptions,
  type ResolvedEvent,
  type SubscribeToAllOptions,
} from '@eventstore/db-client';

/** A live subscription used only as a wake-up signal. */
export interface LiveSubscription {
  /** Calls `onEvent` for each event the server pushes, `onError` once if it fails. */
  listen(onEvent: () => void, onError: (error: Error) => void): void;
  stop(): Promise<void>;
}

export interface EsdbClient {
  appendToStream(streamName: string, events: EventData[], options?: AppendToStreamOptions): Promise<AppendResult>;
  /** Throws `StreamNotFoundError` while iterating when the stream does not exist. */
  readStream(streamName: string, options?: ReadStreamOptions): AsyncIterable<ResolvedEvent>;
  readAll(options?: ReadAllOptions): AsyncIterable<AllStreamResolvedEvent>;
  subscribeToAll(options?: SubscribeToAllOptions): LiveSubscription;
  dispose(): Promise<void>;
}

export function connectEsdbClient(connectionString: string): EsdbClient {
  return wrapEsdbClient(EventStoreDBClient.connectionString(connectionString));
}

export function wrapEsdbClient(client: EventStoreDBClient): EsdbClient {
  return {
    appendToStream: (streamName, events, options) => client.appendToStream(streamName, events, options),
    readStream: (streamName, options) => client.readStream(streamName, options),
    readAll: (options) => client.readAll(options),
    subscribeToAll(options) {
      const subscription = client.subscribeToAll(options);
      return {
        listen(onEvent, onError) {
          subscription.on('data', () => onEvent());
          subscription.on('error', (error: Error) => onError(error));
        },
        stop: () => subscription.unsubscribe(),
      };
    },
    dispose: () => client.dispose(),
  };
}
