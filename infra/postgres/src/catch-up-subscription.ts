import type { RecordedEvent } from '@crm/core';
import type { CommitSignal } from './commit-signal.ts';

export interface CatchUpOptions {
  /** Start after this global position. */
  after: number;
  signal: AbortSignal;
  pageSize: number;
  pollIntervalMs: number;
  /** Events with globalPosition > after, in global order, at most `limit`. */
  readPage(after: number, limit: number): Promise<RecordedEvent[]>;
  commits: CommitSignal;
}

/**
 * Reads pages until caught up, then waits for a commit signal (or the poll interval) and
 * reads again. No gap and no duplicate: positions are assigned under the event log's lock
 * and commit in that order, so every page read is the next slice of a gap-free prefix, and
 * reading strictly after the last delivered position never repeats one.
 */
export async function* catchUpSubscription(options: CatchUpOptions): AsyncGenerator<RecordedEvent> {
  const { signal, pageSize, commits } = options;
  let position = options.after;
  while (!signal.aborted) {
    const seen = commits.seen();
    let page: RecordedEvent[];
    try {
      page = await options.readPage(position, pageSize);
    } catch (error) {
      // close() ends the pool under a read in flight; that is the end, not a failure.
      if (signal.aborted) return;
      throw error;
    }
    for (const event of page) {
      if (signal.aborted) return;
      yield event;
      position = event.globalPosition;
    }
    if (page.length < pageSize) await commits.next(seen, options.pollIntervalMs, signal);
  }
}
