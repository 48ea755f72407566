/** Peak resident set size of this process over a phase: `process.memoryUsage.rss()` every `intervalMs` (100 ms by default). */
export interface RssSampler {
  /** Stops sampling; the peak in MiB (the last reading included). */
  stop(): number;
}

export function rssSampler(intervalMs = 100): RssSampler {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return peak / 2 ** 20;
    },
  };
}
