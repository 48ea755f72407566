/**
 * The child process of rebuild-million: a CRM process that opens the generated data
 * directory the way the runtime does (`loadConfig` + `openRuntime`, CRM_DATA_DIR and the
 * keys from the environment) and builds all four views from position 0 through the
 * production path, `startProjectorsFor(runtime, config)` (as `npm start` does), until `ready`.
 * Prints one JSON line on stdout: seconds, events (the store's head), per-view build
 * figures from the projector's log, and a `process.memoryUsage()` breakdown (sampled every
 * 100 ms; the sample with the highest RSS, and each field's own maximum).
 */
import { createLogger, type Logger, type LogFields } from '@crm/core';
import { startProjectorsFor } from '@crm/api';
import { loadConfig, openRuntime } from '@crm/runtime';

interface Entry {
  level: string;
  message: string;
  fields: LogFields;
  atSeconds: number;
}

const MiB = 2 ** 20;
const started = performance.now();
const entries: Entry[] = [];
function capturingLogger(base: LogFields = {}): Logger {
  const emit = (level: string) => (message: string, fields: LogFields = {}) =>
    void entries.push({ level, message, fields: { ...base, ...fields }, atSeconds: (performance.now() - started) / 1000 });
  return { debug: () => {}, info: emit('info'), warn: emit('warn'), error: emit('error'), child: (fields) => capturingLogger({ ...base, ...fields }) };
}

type Usage = ReturnType<typeof process.memoryUsage>;
const toMiB = (u: Usage) => Object.fromEntries(Object.entries(u).map(([k, v]) => [k, Number((v / MiB).toFixed(1))]));
let atPeak: Usage = process.memoryUsage();
const maxima: Usage = { ...atPeak };
const timeline: Array<{ t: number } & Record<string, number>> = [];
let ticks = 0;
function sample(): void {
  const u = process.memoryUsage();
  if (u.rss > atPeak.rss) atPeak = u;
  for (const key of Object.keys(maxima) as Array<keyof Usage>) maxima[key] = Math.max(maxima[key], u[key]);
  // Every 2 s, a point of the timeline (for the README: what grows).
  if (ticks++ % 20 === 0) timeline.push({ t: Number(((performance.now() - started) / 1000).toFixed(1)), ...toMiB(u) } as { t: number } & Record<string, number>);
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const runtime = await openRuntime(config, createLogger({ level: 'error' }));
  const opened = (performance.now() - started) / 1000;
  const head = await runtime.eventStore.headPosition();
  const before = process.memoryUsage();
  const timer = setInterval(sample, 100);
  const t0 = performance.now();
  const running = startProjectorsFor(runtime, config, capturingLogger());
  try {
    await running.ready;
  } finally {
    await running.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  sample();
  clearInterval(timer);
  const views = entries
    .filter((e) => e.message === 'view generation built from the event store')
    .map((e) => ({ view: e.fields.view, eventsRead: e.fields.events, buildSeconds: e.fields.seconds, doneAtSeconds: Number((e.atSeconds - opened).toFixed(2)) }));
  const problems = entries.filter((e) => e.level !== 'info').map((e) => `${e.level}: ${e.message} ${JSON.stringify(e.fields)}`);
  await runtime.close();
  process.stdout.write(
    `${JSON.stringify({
      seconds,
      events: head,
      openSeconds: opened,
      views,
      problems,
      memory: { beforeMiB: toMiB(before), atPeakRssMiB: toMiB(atPeak), maximaMiB: toMiB(maxima) },
      timeline,
      execArgv: process.execArgv,
    })}\n`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
