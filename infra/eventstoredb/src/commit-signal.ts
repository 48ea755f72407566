/**
 * In-process "the log grew" signal with a sequence number, so that a waiter that read the
 * sequence before looking for events cannot miss a notification that came in between.
 */
export interface CommitSignal {
  /** Increases on every `notify`. */
  readonly sequence: number;
  notify(): void;
  /**
   * Resolves once `sequence` has moved past `seen` (at once if it already has), after
   * `timeoutMs`, or when `signal` aborts, whichever comes first.
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
