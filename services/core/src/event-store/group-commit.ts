/** How one request of a batch ended: its own result or its own error. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface GroupCommitOptions<Request, Result> {
  /** Most requests per transaction; a longer queue is committed in several turns of the event loop. */
  maxBatch: number;
  /**
   * How many batches may be committing at once. 1 (default) where transactions would only
   * queue behind each other anyway: a synchronous commit, or a server that serialises them on
   * one lock (each would hold a connection while it waits). A writer that commits batches
   * strictly in the order it receives them (a worker thread) can take more: the next batch is
   * handed over while the previous one is still being written, so the caller's thread never
   * idles waiting for the disk.
   */
  maxInFlight?: number;
  /**
   * Commits `batch` in one transaction and returns one outcome per request, in order.
   * Throws (or rejects) when the transaction as a whole failed; every request of the batch
   * is then rejected. Called again before the previous call settled only with maxInFlight > 1.
   */
  commitBatch(batch: readonly Request[]): Outcome<Result>[] | Promise<Outcome<Result>[]>;
}

export interface GroupCommit<Request, Result> {
  submit(request: Request): Promise<Result>;
  /** Resolves once every request submitted so far has settled. */
  drain(): Promise<void>;
}

interface Pending<Request, Result> {
  request: Request;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

/**
 * Queues requests and commits them together on the next `setImmediate`, so that every append
 * made during one turn of the event loop (e.g. by many concurrent HTTP requests) shares one
 * transaction and one fsync, and so do all that arrive while the allowed number of batches
 * are in flight. Order within a batch is submission order.
 */
export function createGroupCommit<Request, Result>(
  options: GroupCommitOptions<Request, Result>,
): GroupCommit<Request, Result> {
  const maxBatch = Math.max(1, Math.floor(options.maxBatch));
  const queue: Pending<Request, Result>[] = [];
  const maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? 1));
  let scheduled = false;
  // What arrives while the allowed number of batches commit forms the next batch.
  let inFlight = 0;
  let drainWaiters: (() => void)[] = [];

  function schedule(): void {
    if (scheduled || inFlight >= maxInFlight) return;
    scheduled = true;
    setImmediate(() => void flush());
  }

  async function flush(): Promise<void> {
    scheduled = false;
    inFlight++;
    const batch = queue.splice(0, maxBatch);
    if (queue.length > 0) schedule();
    try {
      const outcomes = await options.commitBatch(batch.map((p) => p.request));
      batch.forEach((pending, i) => {
        const outcome = outcomes[i];
        if (!outcome) pending.reject(new Error('group commit returned no outcome for this request'));
        else if (outcome.ok) pending.resolve(outcome.value);
        else pending.reject(outcome.error);
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      inFlight--;
    }
    // Yield to the event loop between batches so a long queue cannot starve readers.
    if (queue.length > 0) schedule();
    else if (inFlight === 0) {
      const waiters = drainWaiters;
      drainWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  return {
    submit(request) {
      return new Promise<Result>((resolve, reject) => {
        queue.push({ request, resolve, reject });
        schedule();
      });
    },
    drain() {
      if (queue.length === 0 && !scheduled && inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => drainWaiters.push(resolve));
    },
  };
}
