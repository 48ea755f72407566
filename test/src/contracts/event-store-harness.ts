import type { EventStore } from '@crm/core';

/**
 * Names a function that opens a store from any process: `(await import(module))[exportName](locator)`.
 * The crash case runs it in a child process and again in the test process after killing the child.
 */
export interface EventStoreOpener {
  /** Absolute file path, `file:` URL or package specifier (resolved from this folder) of an ES module. */
  module: string;
  /** The module's export: `(locator) => EventStore | Promise<EventStore>`. */
  exportName: string;
}

/** What an adapter's spec hands to `eventStoreContract`. */
export interface EventStoreHarness {
  /** A fresh, empty store on every call (or a fresh namespace of a shared server). */
  open(): Promise<EventStore>;
  /** Enables the crash-safety case; without it that case is skipped. */
  crashWriter?: EventStoreOpener & {
    /** A JSON-serialisable locator (file path, database or schema name...) of a fresh, empty store. */
    freshLocator(): Promise<unknown>;
  };
}
