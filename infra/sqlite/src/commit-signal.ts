/**
 * In-process "something was committed" signal. Subscribers wait on it instead of polling
 * tightly; the timeout in `next` is the fallback that sees commits of other processes.
 */
export interface CommitSignal {
  notify(): void;
  /** Resolves at the next `notify`, after `timeoutMs`, or when `signal` aborts, whichever comes first. */
  next(timeoutMs: number, signal: AbortSignal): Promise<void>;
}

export function createCommitSignal(): CommitSignal {
  const waiters = new Set<() => void>();
  return {
    notify() {
      const woken = [...waiters];
      waiters.clear();
      for (const wake of woken) wake();
    },
    next(timeoutMs, signal) {
      return new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
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
