/** V8 CPU profiling of the current thread over a chosen phase (node:inspector), written as `.cpuprofile`. */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

export interface RunningProfile {
  /** Stops sampling and writes the profile to `file` (open it in Chrome DevTools or summarise it with tools/cpuprofile-top.ts). */
  stop(file: string): Promise<void>;
}

export async function startProfile(): Promise<RunningProfile> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      writeFileSync(file, JSON.stringify(profile));
    },
  };
}
