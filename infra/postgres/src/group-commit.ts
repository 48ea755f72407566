/** How one request of a batch ended: its own result or its own error. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface GroupCommitOptions<Request, Result> {
  /** Most requests per transaction; a longer queue is committed in several transactions. */
  maxBatch: number;
  /**
   * Commits `batch` in one transaction and resolves with one outcome per request, in order.
   * Rejects when the transaction as a whole failed; every request of the batch is then rejected.
   */
  commitBatch(batch: readonly Request[]): Promise<Outcome<Result>[]>;
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
 * Queues requests and commits them together: the requests of one turn of the event loop
 * (e.g. many concurrent HTTP requests) share a transaction, and so do all that arrive while
 * a transaction is in flight. One transaction at a time: they would queue on the event
 * log's lock in the server anyway, each holding a connection while it waits.
 */
export function createGroupCommit<Request, Result>(
  options: GroupCommitOptions<Request, Result>,
): GroupCommit<Request, Result> {
  const maxBatch = Math.max(1, Math.floor(options.maxBatch));
  const queue: Pending<Request, Result>[] = [];
  let scheduled = false;
  let committing = false;
  let drainWaiters: (() => void)[] = [];

  function schedule(): void {
    if (scheduled || committing) return;
    scheduled = true;
    setImmediate(() => void flush());
  }

  async function flush(): Promise<void> {
    scheduled = false;
    committing = true;
    const batch = queue.splice(0, maxBatch);
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
      committing = false;
    }
    if (queue.length > 0) schedule();
    else {
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
      if (queue.length === 0 && !scheduled && !committing) return Promise.resolve();
      return new Promise<void>((resolve) => drainWaiters.push(resolve));
    },
  };
}
