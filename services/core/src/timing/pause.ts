/**
 * Waits `ms`, or less when `signal` aborts: retry loops sleep through it so that a shutdown
 * never waits out a back-off. Resolves true when the time passed, false when `signal` aborted
 * first (also when it already had).
 */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const done = (completed: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(completed);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
