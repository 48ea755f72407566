/**
 * View rebuild: how fast a view's generation is built from position 0 of the event store,
 * into the embedded read store (SQLite) and into MongoDB (FerretDB), against a raw bulk
 * upsert of the same documents into the same store, in the same run.
 *
 * - History (once per process, reused by every run: rebuilds only read it): a realistic CRM
 *   written through the command service (crm-history.ts), SQLite event and key stores.
 * - Rebuild (timed): the production path. `startProjections({ views: [view], … })` on a
 *   fresh, empty read store builds the view's first generation exactly as a first start or
 *   a version bump does (`build()` in projections-runner.ts: readAll pages of 2,000 →
 *   `createViewProjection(…).project(page)`, then the switch); timed until `ready`. Every
 *   rebuild gets a fresh Keyring (cold key cache, as after a restart) over the history's key
 *   store, and the read store is wrapped by a recorder (recording-read-store.ts) that notes
 *   each write's call, collection and ids.
 * - Raw (timed): the same calls again, in order, into fresh collections of the same store
 *   (with the indexes the projector made, created untimed), each upsert carrying the
 *   documents as the rebuild stored them (sealed, read back untimed): the same number of
 *   `upsert` calls with the same ids, and the same deletes — no event read, opened or
 *   evolved, no document read or sealed. Its rate is history events ÷ raw seconds.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Document, Keyring, type Logger, type LogFields, type ReadStore } from '@crm/core';
import { physicalCollectionName, startProjections } from '@crm/projector';
import type { ViewDefinition } from '@crm/projections';
import { openReadStore } from '@crm/runtime';
import { processCpuSeconds } from '../engines.ts';
import { startProfile } from '../profiler.ts';
import type { BenchOptions, Goal, Measurement, Workload } from '../workload.ts';
import { type History, writeHistory } from './crm-history.ts';
import { dropDatabase, ensureFerretDb, type FerretDb, freshDatabase, stopOwnFerretDb } from './ferretdb.ts';
import { planReplay, readAllDocuments, recordingReadStore, replay, type WriteCounts } from './recording-read-store.ts';

export type ReadStoreKind = 'sqlite' | 'mongodb';

export interface ViewRebuildConfig {
  /**
   * Events in the history each store rebuilds from (the writer stops starting stories there;
   * the last ones finish). FerretDB gets a smaller one: its SQLite backend runs every
   * replaceOne-upsert as a transaction of its own (2–15 ms each here), so the full history
   * would take tens of minutes per view and run.
   */
  events: Record<ReadStoreKind, number>;
  /**
   * Command stories in flight while writing a history (at most; a small history gets fewer,
   * one per 200 events, or the stories still running when the target is reached overshoot it).
   */
  historyConcurrency: number;
  seed: number;
  /** Events per read of the event store: startProjections' default, not passed (recorded here only). */
  rebuildBatchSize: number;
  /** Read stores measured; mongodb runs on CRM_MONGO_URL, else on a FerretDB of the workload's own (ferretdb.ts). */
  stores: ReadStoreKind[];
  /** How often RSS is sampled during a rebuild (it is also sampled at every read-store call). */
  rssSampleMs: number;
  /** The embedded read store as `npm start` opens it: synchronous = FULL. */
  sqliteDurable: boolean;
}

export function viewRebuildConfig(options: BenchOptions): ViewRebuildConfig {
  return {
    events: options.quick ? { sqlite: 20_000, mongodb: 1_500 } : { sqlite: 200_000, mongodb: 10_000 },
    historyConcurrency: 128,
    seed: 4242,
    rebuildBatchSize: 2000,
    stores: ['sqlite', 'mongodb'],
    rssSampleMs: 10,
    sqliteDurable: true,
  };
}

const VIEWS = ['service', 'sales', 'hr', 'analytics'] as const;
const STORE_LABEL: Record<ReadStoreKind, string> = { sqlite: 'embedded', mongodb: 'ferretdb' };
const scenario = (kind: ReadStoreKind, view: string) => `${STORE_LABEL[kind]} / ${view}`;
const MiB = 2 ** 20;

/** The histories (one per size), written once per process and kept for every run; removed after the last run. */
const histories = new Map<number, Promise<History>>();

function history(events: number, config: ViewRebuildConfig, log: (line: string) => void): Promise<History> {
  let found = histories.get(events);
  if (!found) histories.set(events, (found = writeHistory({ events, concurrency: Math.max(8, Math.min(config.historyConcurrency, Math.round(events / 200))), seed: config.seed }, log)));
  return found;
}

async function releaseHistories(): Promise<void> {
  const pending = [...histories.values()];
  histories.clear();
  await Promise.allSettled(pending.map(async (h) => (await h).close()));
}

interface FreshReadStore {
  store: ReadStore;
  /** Closes the store and removes what it holds (file, database). */
  close(): Promise<void>;
}

/** A fresh, empty read store opened the way the runtime opens one (`openReadStore`). */
async function freshReadStore(kind: ReadStoreKind, h: History, config: ViewRebuildConfig, name: string, mongo: FerretDb | undefined): Promise<FreshReadStore> {
  if (kind === 'sqlite') {
    const path = join(h.dir, `${name}.views.sqlite`);
    const store = await openReadStore({ ...h.runtime.config, durable: config.sqliteDurable, readStore: { kind: 'sqlite', path } });
    return {
      store,
      close: async () => {
        await store.close();
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
      },
    };
  }
  if (!mongo) throw new Error('no MongoDB server for the mongodb read store');
  const url = mongo.url;
  const database = freshDatabase('rebuild');
  const store = await openReadStore({ ...h.runtime.config, readStore: { kind: 'mongodb', url, database } });
  return {
    store,
    close: async () => {
      try {
        await store.close();
      } finally {
        await dropDatabase(url, database);
      }
    },
  };
}

/** Peak RSS over a phase: sampled every `periodMs` and whenever `sample()` is called. */
function rssSampler(periodMs: number) {
  let peak = 0;
  let timer: NodeJS.Timeout | undefined;
  const sample = () => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  };
  return {
    sample,
    start() {
      peak = 0;
      sample();
      timer = setInterval(sample, periodMs);
    },
    stop(): number {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/** Linux: resets the kernel's peak-RSS mark (VmHWM) to the current RSS; false when not possible. */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function kernelPeakRss(): number | undefined {
  try {
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kib ? Number(kib) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** A Logger that keeps what the projector logs (the build's own figures, and any warning or error). */
function capturingLogger(): Logger & { entries: Array<{ level: string; message: string; fields: LogFields }> } {
  const entries: Array<{ level: string; message: string; fields: LogFields }> = [];
  const make = (base: LogFields): Logger => {
    const emit = (level: string) => (message: string, fields: LogFields = {}) => void entries.push({ level, message, fields: { ...base, ...fields } });
    return { debug: () => {}, info: emit('info'), warn: emit('warn'), error: emit('error'), child: (fields) => make({ ...base, ...fields }) };
  };
  return Object.assign(make({}), { entries });
}

export interface RebuildFigures {
  events: number;
  rebuildSeconds: number;
  /** The build loop alone, as the projector logs it ("view generation built from the event store"). */
  buildLoopSeconds: number | undefined;
  rawSeconds: number;
  counts: WriteCounts;
  finalDocuments: number;
  /** Documents the raw baseline upserted, and their JSON size. */
  rawDocuments: number;
  rawBytes: number;
  /** Upserted by the rebuild, then deleted by it: no final form, left out of the raw upserts. */
  rawMissing: number;
  rssStart: number;
  rssPeak: number;
  kernelRssPeak: number | undefined;
  cpuPercent: number;
  rawCpuPercent: number;
  serverCpuPercent?: number;
  rawServerCpuPercent?: number;
  problems: string[];
}

async function countAll(store: ReadStore, names: Iterable<string>): Promise<number> {
  let total = 0;
  for (const name of names) total += await store.count(name);
  return total;
}

/** One view into a fresh read store: the rebuild through startProjections, then the raw replay of its writes. */
export async function runViewRebuild(
  h: History,
  view: ViewDefinition,
  kind: ReadStoreKind,
  config: ViewRebuildConfig,
  mongo?: FerretDb,
  profileBase?: string,
): Promise<RebuildFigures> {
  const opened = await freshReadStore(kind, h, config, `${view.name}-${Date.now()}`, mongo);
  try {
    // Every collection of the first generation (`<collection>_v<version>_g1`): the view's, and any other the projector keeps beside them.
    const suffix = physicalCollectionName({ version: view.version, generation: 1 }, '');
    const rss = rssSampler(config.rssSampleMs);
    const recorder = recordingReadStore(opened.store, (name) => name.endsWith(suffix), rss.sample);
    const keyring = new Keyring({ keyStore: h.runtime.keyStore, masterKeys: h.runtime.masterKeySource.keys, cacheTtlMs: h.runtime.config.keyCacheTtlMs });
    const logger = capturingLogger();
    const serverPid = kind === 'mongodb' ? mongo?.pid : undefined;

    // ── the rebuild: production path, timed until the generation is active
    const profile = profileBase ? await startProfile() : undefined;
    const kernelReset = resetPeakRss();
    rss.start();
    const rssStart = process.memoryUsage.rss();
    const serverBefore = processCpuSeconds(serverPid);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const running = startProjections({
      views: [view],
      readStore: recorder,
      eventStore: h.runtime.eventStore,
      consumer: h.runtime.bus.consumer,
      keyring,
      viewKeys: h.runtime.viewKeys,
      logger,
    });
    let rebuildSeconds: number;
    try {
      await running.ready;
      rebuildSeconds = (performance.now() - started) / 1000;
    } finally {
      await running.stop();
    }
    const cpu = process.cpuUsage(cpuBefore);
    const serverAfter = processCpuSeconds(serverPid);
    const rssPeak = rss.stop();
    const kernelRssPeak = kernelReset ? kernelPeakRss() : undefined;
    if (profileBase) await profile?.stop(`${profileBase}-rebuild.cpuprofile`);

    const built = logger.entries.find((e) => e.message === 'view generation built from the event store');
    const events = typeof built?.fields.events === 'number' ? built.fields.events : h.events;
    const problems = logger.entries.filter((e) => e.level !== 'info').map((e) => `${e.level}: ${e.message} ${JSON.stringify(e.fields)}`);
    // A view reads only the event types it uses (readAll({ types })): `events` is what it read, the rate counts the whole history.
    const counts = recorder.counts();
    const collections = recorder.collectionsTouched();

    // ── the raw baseline: the same calls again, with the documents as the rebuild stored them, into
    //    fresh collections of the same store that have the indexes the projector made
    const finals = new Map<string, Map<string, Document>>();
    for (const name of collections) finals.set(name, await readAllDocuments(opened.store, name));
    const finalDocuments = [...finals.values()].reduce((n, m) => n + m.size, 0);
    const rename = (name: string) => `raw_${name}`;
    for (const [name, indexes] of recorder.indexes) await opened.store.ensureIndexes(rename(name), indexes);
    const plan = planReplay(recorder.writes, finals, rename);
    finals.clear();
    const rawProfile = profileBase ? await startProfile() : undefined;
    const rawServerBefore = processCpuSeconds(serverPid);
    const rawCpuBefore = process.cpuUsage();
    const rawStarted = performance.now();
    await replay(opened.store, plan.calls);
    const rawSeconds = (performance.now() - rawStarted) / 1000;
    const rawCpu = process.cpuUsage(rawCpuBefore);
    const rawServerAfter = processCpuSeconds(serverPid);
    if (profileBase) await rawProfile?.stop(`${profileBase}-raw.cpuprofile`);
    const rawLeft = await countAll(opened.store, collections.map(rename));
    if (rawLeft !== finalDocuments) problems.push(`the raw replay left ${rawLeft} documents, the rebuild ${finalDocuments}`);

    const percent = (usage: NodeJS.CpuUsage, seconds: number) => (usage.user + usage.system) / 1e4 / seconds;
    return {
      events,
      rebuildSeconds,
      buildLoopSeconds: typeof built?.fields.seconds === 'number' ? built.fields.seconds : undefined,
      rawSeconds,
      counts,
      finalDocuments,
      rawDocuments: plan.documents,
      rawBytes: plan.bytes,
      rawMissing: plan.missing,
      rssStart,
      rssPeak,
      kernelRssPeak,
      cpuPercent: percent(cpu, rebuildSeconds),
      rawCpuPercent: percent(rawCpu, rawSeconds),
      ...(serverBefore !== undefined && serverAfter !== undefined ? { serverCpuPercent: ((serverAfter - serverBefore) * 100) / rebuildSeconds } : {}),
      ...(rawServerBefore !== undefined && rawServerAfter !== undefined ? { rawServerCpuPercent: ((rawServerAfter - rawServerBefore) * 100) / rawSeconds } : {}),
      problems,
    };
  } finally {
    await opened.close();
  }
}

async function cleanUp(log: (line: string) => void): Promise<void> {
  try {
    await releaseHistories();
  } finally {
    await stopOwnFerretDb(log);
  }
}

const goals: Goal[] = (['sqlite', 'mongodb'] as const).flatMap((kind) =>
  VIEWS.map((view): Goal => ({ label: `${scenario(kind, view)}: rebuild ≥ 50% of the raw upsert rate`, scenario: scenario(kind, view), metric: 'rebuild/raw', op: '>=', target: 0.5 })),
);

export const viewRebuild: Workload = {
  name: 'view-rebuild',
  title: 'View rebuild from position 0 (startProjections) into the embedded store and FerretDB vs a raw replay of the same upserts',
  parameters(options) {
    const config = viewRebuildConfig(options);
    return {
      ...config,
      views: VIEWS,
      mongodb: process.env.CRM_MONGO_URL ? 'CRM_MONGO_URL' : "FerretDB 1.24 (SQLite backend) of the workload's own, infra/local/ferretdb.mjs",
      history: 'written once per process through CommandService (openRuntime, temp CRM_DATA_DIR, SQLite event and key stores, not durable), reused by every run',
      rebuild: 'startProjections({ views: [view] }) on a fresh read store, timed until ready (first generation built and active); fresh Keyring per rebuild (cold key cache)',
      raw: 'the rebuild\'s recorded upsert/delete calls replayed in order with the same sealed documents into fresh collections (same indexes) of the same store',
      rawRate: 'history events ÷ raw seconds',
    };
  },
  metrics: [
    { key: 'events', digits: 0 },
    { key: 'rebuild ev/s', digits: 0 },
    { key: 'raw ev/s', digits: 0 },
    { key: 'rebuild/raw', digits: 3, ratio: 'limit' },
    { key: 'rebuild s', digits: 2 },
    { key: 'raw s', digits: 2 },
    { key: 'in writes s', digits: 2 },
    { key: 'in finds s', digits: 2 },
    { key: 'upsert calls', digits: 0 },
    { key: 'docs written', digits: 0 },
    { key: 'deletes', digits: 0 },
    { key: 'final docs', digits: 0 },
    { key: 'raw docs', digits: 0 },
    { key: 'raw MiB', digits: 1 },
    { key: 'rss start MiB', digits: 0 },
    { key: 'rss peak MiB', digits: 0 },
    { key: 'cpu %', digits: 0 },
    { key: 'ferretdb cpu %', digits: 0 },
    { key: 'errors', digits: 0 },
  ],
  goals,
  async run(options, runIndex) {
    const config = viewRebuildConfig(options);
    const last = runIndex === options.runs - 1;
    try {
      const stores = [...config.stores];
      const mongo = stores.includes('mongodb') ? await ensureFerretDb(options.log) : undefined;
      // The stores take turns going first from run to run.
      const order = runIndex % 2 === 0 ? stores : [...stores].reverse();
      const measurements: Measurement[] = [];
      for (const kind of order) {
        const h = await history(config.events[kind], config, options.log);
        if (runIndex === 0) {
          options.log(`  history for ${STORE_LABEL[kind]}: ${h.customers} persons, ${h.organisations} organisations, ${h.employees} employees; commands ${JSON.stringify(h.counts)}`);
        }
        const views = new Map(h.runtime.views.map((v) => [v.name, v]));
        for (const name of VIEWS) {
          const view = views.get(name);
          if (!view) throw new Error(`the runtime serves no view ${name}`);
          const label = scenario(kind, name);
          const profileBase = options.cpuProfDir ? join(options.cpuProfDir, `rebuild-${STORE_LABEL[kind]}-${name}-run${runIndex + 1}`) : undefined;
          const f = await runViewRebuild(h, view, kind, config, mongo, profileBase);
          // Both rates over the same history: a rebuild covers every event of the log, whether or not its view reads it.
          const rebuildRate = h.events / f.rebuildSeconds;
          const rawRate = h.events / f.rawSeconds;
          options.log(
            `  ${label}: rebuild ${f.rebuildSeconds.toFixed(2)} s = ${rebuildRate.toFixed(0)} ev/s; raw ${f.rawSeconds.toFixed(2)} s = ${rawRate.toFixed(0)} ev/s; ` +
              `ratio ${(rebuildRate / rawRate).toFixed(3)}; in writes ${f.counts.writeSeconds.toFixed(2)} s, in finds ${f.counts.findSeconds.toFixed(2)} s; ${f.counts.upsertCalls} upserts of ${f.counts.documentsUpserted} docs, ${f.counts.idsDeleted} deletes, ${f.finalDocuments} final docs, raw ${f.rawDocuments} docs (${(f.rawBytes / MiB).toFixed(1)} MiB); ` +
              `RSS ${(f.rssStart / MiB).toFixed(0)} → peak ${(f.rssPeak / MiB).toFixed(0)} MiB; CPU ${f.cpuPercent.toFixed(0)}% (raw ${f.rawCpuPercent.toFixed(0)}%)` +
              (f.serverCpuPercent !== undefined ? `, ferretdb ${f.serverCpuPercent.toFixed(0)}% (raw ${f.rawServerCpuPercent?.toFixed(0) ?? '?'}%)` : ''),
          );
          for (const problem of f.problems) options.log(`  !!! ${label}: ${problem}`);
          measurements.push({
            scenario: label,
            metrics: {
              events: h.events,
              'events read': f.events,
              'rebuild ev/s': rebuildRate,
              'raw ev/s': rawRate,
              'rebuild/raw': rebuildRate / rawRate,
              'rebuild s': f.rebuildSeconds,
              'raw s': f.rawSeconds,
              'in writes s': f.counts.writeSeconds,
              'in finds s': f.counts.findSeconds,
              'upsert calls': f.counts.upsertCalls,
              'docs written': f.counts.documentsUpserted,
              deletes: f.counts.idsDeleted,
              'final docs': f.finalDocuments,
              'raw docs': f.rawDocuments,
              'raw MiB': f.rawBytes / MiB,
              'rss start MiB': f.rssStart / MiB,
              'rss peak MiB': f.rssPeak / MiB,
              'cpu %': f.cpuPercent,
              ...(f.serverCpuPercent !== undefined ? { 'ferretdb cpu %': f.serverCpuPercent } : {}),
              errors: f.problems.length,
            },
            notes: {
              buildLoopSeconds: f.buildLoopSeconds,
              rawCpuPercent: Number(f.rawCpuPercent.toFixed(1)),
              ...(f.rawServerCpuPercent !== undefined ? { rawFerretDbCpuPercent: Number(f.rawServerCpuPercent.toFixed(1)) } : {}),
              findCalls: f.counts.findCalls,
              deleteCalls: f.counts.deleteCalls,
              rawLeftOut: f.rawMissing,
              kernelPeakRssMiB: f.kernelRssPeak !== undefined ? Number((f.kernelRssPeak / MiB).toFixed(1)) : undefined,
              ...(runIndex === 0 ? { history: { events: h.events, commands: h.commands, seconds: Number(h.seconds.toFixed(1)), counts: h.counts } } : {}),
              ...(f.problems.length ? { problems: f.problems } : {}),
            },
          });
        }
      }
      if (last) await cleanUp(options.log);
      return measurements;
    } catch (error) {
      await cleanUp(options.log).catch(() => undefined);
      throw error;
    }
  },
};
