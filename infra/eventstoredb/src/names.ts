import { randomUUID } from 'node:crypto';

/**
 * Stream names of one store on an EventStoreDB server.
 *
 * With prefix `P` (default empty):
 * - the port's stream `S` is the ESDB stream `P` + `S`; `S` must not start with `$`;
 * - the store's own streams are `P$crm-…`: the ordered log `P$crm-log` and one stream per
 *   idempotency key `P$crm-idempotency-<key>`. The `$` right after the prefix keeps them
 *   apart from every port stream. With an empty prefix they are ESDB system streams.
 */

export interface StoreNames {
  readonly prefix: string;
  /** The ordered log: revision n links to the event at global position n (revision 0 is its genesis). */
  readonly log: string;
  /** ESDB stream of the port's stream `streamId`. */
  stream(streamId: string): string;
  /** The port's stream id of an ESDB stream of this store, or undefined for any other stream. */
  streamIdOf(streamName: string): string | undefined;
  idempotency(key: string): string;
  /**
   * Server-side stream-name filter (a .NET regex) matching this store's port streams and its
   * log: what a live subscription to `$all` must see to wake subscribers.
   */
  readonly wakeFilterRegex: string;
}

const PREFIX = /^(?:[A-Za-z0-9][A-Za-z0-9_.:-]*)?$/;

export function storeNames(prefix = ''): StoreNames {
  if (!PREFIX.test(prefix)) {
    throw new RangeError('streamPrefix must be empty or start with a letter or digit followed by letters, digits, _ . : -');
  }
  const log = `${prefix}$crm-log`;
  return {
    prefix,
    log,
    stream(streamId) {
      assertStreamId(streamId);
      return prefix + streamId;
    },
    streamIdOf(streamName) {
      if (!streamName.startsWith(prefix)) return undefined;
      const streamId = streamName.slice(prefix.length);
      return isPortStreamId(streamId) ? streamId : undefined;
    },
    idempotency(key) {
      if (typeof key !== 'string' || key.length === 0) throw new RangeError('an idempotency key must be a non-empty string');
      return `${prefix}$crm-idempotency-${key}`;
    },
    wakeFilterRegex: `^${escapeRegex(prefix)}(?:[^$]|${escapeRegex('$crm-log')}$)`,
  };
}

function isPortStreamId(streamId: string): boolean {
  return streamId.length > 0 && !streamId.startsWith('$');
}

export function assertStreamId(streamId: string): void {
  if (typeof streamId !== 'string' || !isPortStreamId(streamId)) {
    throw new RangeError('streamId must be a non-empty string that does not start with $');
  }
}

export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** A random prefix for a store of its own on a shared server (tests, benchmarks). */
export function randomStreamPrefix(tag = 'crm'): string {
  return `${tag}-${randomUUID().replaceAll('-', '').slice(0, 16)}-`;
}
