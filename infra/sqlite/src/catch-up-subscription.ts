import type { RecordedEvent } from '@crm/core';
import type { CommitSignal } from './commit-signal.ts';

export interface CatchUpOptions {
  /** Start after this global position. */
  after: number;
  signal: AbortSignal;
  pageSize: number;
  pollIntervalMs: number;
  /** Events with globalPosition > after, in global order, at most `limit`. */
  readPage(after: number, limit: number): RecordedEvent[];
  commits: CommitSignal;
}

/**
 * Reads pages until caught up, then waits for a commit (or the poll interval) and reads again.
 * Gap-free because SQLite serialises writers and assigns positions inside the writer's
 * transaction: no reader ever sees position n+1 committed before n.
 */
export async function* catchUpSubscription(options: CatchUpOptions): AsyncGenerator<RecordedEvent> {
  const { signal, pageSize } = options;
  let position = options.after;
  while (!signal.aborted) {
    const page = options.readPage(position, pageSize);
    for (const event of page) {
      yield event;
      position = event.globalPosition;
      // The consumer may have aborted (or closed the store) while it held this event.
      if (signal.aborted) return;
    }
    if (page.length < pageSize) await options.commits.next(options.pollIntervalMs, signal);
  }
}
