import type { RecordedEvent } from '../ports/event-store.ts';
import type { CommitSignal } from './commit-signal.ts';

export interface CatchUpOptions {
  /** Start after this global position. */
  after: number;
  signal: AbortSignal;
  pageSize: number;
  pollIntervalMs: number;
  /** Events with globalPosition > after, in global order, at most `limit`. */
  readPage(after: number, limit: number): RecordedEvent[] | Promise<RecordedEvent[]>;
  commits: CommitSignal;
}

/**
 * Reads pages until caught up, then waits for a commit signal (or the poll interval) and
 * reads again. No gap and no duplicate, given a store whose positions become visible in
 * order (SQLite serialises writers; PostgreSQL assigns positions under the event log's lock
 * and commits in that order): every page read is the next slice of a gap-free prefix, and
 * reading strictly after the last delivered position never repeats one.
 */
export async function* catchUpSubscription(options: CatchUpOptions): AsyncGenerator<RecordedEvent> {
  const { signal, pageSize, commits } = options;
  let position = options.after;
  while (!signal.aborted) {
    const seen = commits.sequence;
    let page: RecordedEvent[];
    try {
      page = await options.readPage(position, pageSize);
    } catch (error) {
      // close() may end the connection under a read in flight; that is the end, not a failure.
      if (signal.aborted) return;
      throw error;
    }
    for (const event of page) {
      // The consumer may have aborted (or closed the store) during the read or while it held
      // the previous event.
      if (signal.aborted) return;
      yield event;
      position = event.globalPosition;
    }
    if (page.length < pageSize) await commits.next(seen, options.pollIntervalMs, signal);
  }
}
