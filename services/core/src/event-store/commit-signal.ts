/**
 * "Something was committed" for the subscriptions of one store: raised by this process's own
 * appends and, where the adapter has one, by the engine's notifications of other processes'
 * commits. Subscribers wait on it instead of polling tightly; the timeout in `next` is the
 * fallback that sees commits nobody announced.
 *
 * A sequence number, so that a subscriber that read it before reading a page and then waits
 * does not miss a commit that landed in between (e.g. while it held an event of that page).
 */
export interface CommitSignal {
  /** Increases on every `notify`. */
  readonly sequence: number;
  notify(): void;
  /**
   * Resolves at once if `sequence` has moved past `seen`, else at the next `notify`, after
   * `timeoutMs` (the polling fallback) or when `signal` aborts, whichever comes first.
   */
  next(seen: number, timeoutMs: number, signal: AbortSignal): Promise<void>;
}

export function createCommitSignal(): CommitSignal {
  const waiters = new Set<() => void>();
  let sequence = 0;
  return {
    get sequence() {
      return sequence;
    },
    notify() {
      sequence += 1;
      const woken = [...waiters];
      waiters.clear();
      for (const wake of woken) wake();
    },
    next(seen, timeoutMs, signal) {
      return new Promise<void>((resolve) => {
        if (signal.aborted || sequence !== seen) return resolve();
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
