import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EventStore } from '@crm/core';
import type { EventStoreOpener } from './event-store-harness.ts';

/** Opens the store an opener names; used alike by the crash writer (child) and the test (parent). */
export async function openStoreWith(opener: EventStoreOpener, locator: unknown): Promise<EventStore> {
  const specifier = isAbsolute(opener.module) ? pathToFileURL(opener.module).href : opener.module;
  const loaded = (await import(specifier)) as Record<string, unknown>;
  const open = loaded[opener.exportName];
  if (typeof open !== 'function') {
    throw new TypeError(`${opener.module} exports no function named ${opener.exportName}`);
  }
  return (await (open as (locator: unknown) => EventStore | Promise<EventStore>)(locator)) as EventStore;
}
