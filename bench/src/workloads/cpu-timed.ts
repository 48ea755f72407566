/** Times one phase of a workload: wall seconds, and this process's CPU over it (all threads). */

export interface Timed<T> {
  value: T;
  seconds: number;
  /** CPU of this process over the phase, in % of one core (worker threads included). */
  cpuPercent: number;
}

export async function timed<T>(phase: () => T | Promise<T>): Promise<Timed<T>> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const value = await phase();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { value, seconds, cpuPercent: (cpu.user + cpu.system) / 1e4 / seconds };
}
