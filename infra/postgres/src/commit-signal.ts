/**
 * "Something was committed" for the subscriptions of one store: raised by this process's
 * own appends and by NOTIFYs from every other process. A counter, so that a subscriber that
 * read a page and then waits does not miss a commit that landed in between.
 */
export interface CommitSignal {
  notify(): void;
  /** How many notifies so far; hand it to `next` to wait only for later ones. */
  seen(): number;
  /**
   * Resolves at once if a notify came after `since`, else at the next notify, after
   * `timeoutMs` (the polling fallback) or when `signal` aborts, whichever comes first.
   */
  next(since: number, timeoutMs: number, signal: AbortSignal): Promise<void>;
}

export function createCommitSignal(): CommitSignal {
  let count = 0;
  const waiters = new Set<() => void>();
  return {
    notify() {
      count += 1;
      const woken = [...waiters];
      waiters.clear();
      for (const wake of woken) wake();
    },
    seen: () => count,
    next(since, timeoutMs, signal) {
      return new Promise<void>((resolve) => {
        if (signal.aborted || count !== since) return resolve();
        const wake = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', wake);
          waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, timeoutMs);
        signal.addEventListener('abort', wake, { once: true });
        waiters.add(wake);
      });
    },
  };
}
