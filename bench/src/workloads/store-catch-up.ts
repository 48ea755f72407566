/** Catch-up reads of a filled store, for store-append: what a subscriber pays to read the log from the start. */
import type { EventStore, RecordedEvent } from '@crm/core';

/**
 * The page a catch-up subscriber reads: `subscribe()` of the SQLite store pages through
 * `readAll` with its `batchSize` (default 1,000, which the runtime keeps: the in-process bus
 * and the relay read that way).
 */
export const CATCH_UP_PAGE_SIZE = 1000;

/**
 * Reads the whole log from position 0 in pages of `pageSize`, as a catch-up subscriber does,
 * until a short page; `each` (e.g. opening the event) runs on every event in order. Returns
 * how many events were read.
 */
export async function readAllPages(store: EventStore, pageSize: number, each?: (event: RecordedEvent) => Promise<unknown>): Promise<number> {
  let read = 0;
  await forEachPage(store, pageSize, async (page) => {
    if (each) for (const event of page) await each(event);
    read += page.length;
  });
  return read;
}

/**
 * Reads the whole log in global order, `pageSize` events at a time, handing each page and the
 * position it ends at to `handle` (awaited) before the next page is read; stops after a short page.
 */
export async function forEachPage(store: EventStore, pageSize: number, handle: (page: RecordedEvent[], position: number) => unknown): Promise<void> {
  let after = 0;
  for (;;) {
    const page = await store.readAll({ after, limit: pageSize });
    if (page.length === 0) return;
    after = page[page.length - 1]!.globalPosition;
    await handle(page, after);
    if (page.length < pageSize) return;
  }
}
