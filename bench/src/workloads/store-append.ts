/**
 * Store level, shaped like the Event Store Benchmark Suite: N streams, 256-byte events,
 * W concurrent writers, one event per append with an expected version. Each writer picks
 * a stream (flat or Zipf), appends with the version it believes current (an in-memory map)
 * and, on WrongExpectedVersion (two writers raced on one stream), takes the store's actual
 * version from the error and counts a conflict. Plaintext vs sealed (real Keyring +
 * sealEvent, one subject key per stream created up front in a SQLite key store).
 * Durable store (the default: fsync per commit), a fresh temp store per scenario.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventStore, generateMasterKey, Keyring, type KeyStore, masterKeys, WrongExpectedVersion } from '@crm/core';
import { customerStream } from '@crm/domain';
import { openSqliteEventStore, openSqliteKeyStore } from '@crm/sqlite';
import { v7 as uuidv7 } from 'uuid';
import { startProfile } from '../profiler.ts';
import { summarizeLatencies } from '../stats.ts';
import type { BenchOptions, Measurement, Workload } from '../workload.ts';
import { customerDetails, eventFactory, personalBytes, type Variant } from './event-payload.ts';
import { type Distribution, hottestShare, seededRandom, streamChooser } from './stream-choice.ts';

export interface StoreAppendConfig {
  streams: number;
  writers: number;
  payloadBytes: number;
  /** Successful appends measured per scenario. */
  appends: number;
  /** Appends made before measuring (JIT, page cache), not counted. */
  warmupAppends: number;
  /** Upper bound on a scenario's measured phase, in seconds. */
  maxSeconds: number;
  zipfS: number;
  /** Default key cache TTL of the API (CRM_KEY_CACHE_TTL_MS). */
  keyCacheTtlMs: number;
  /** fsync per commit (the default, and what the figures are for); false only for diagnosis. */
  durable: boolean;
}

export function storeAppendConfig(options: BenchOptions): StoreAppendConfig {
  const appends = options.appends ?? (options.quick ? 20_000 : 100_000);
  return {
    streams: 10_000,
    writers: 64,
    payloadBytes: 256,
    appends,
    warmupAppends: Math.min(5_000, Math.max(2_000, Math.ceil(appends / 20))),
    maxSeconds: options.storeSeconds ?? 60,
    zipfS: 0.99,
    keyCacheTtlMs: 60_000,
    durable: true,
  };
}

export interface ScenarioFigures {
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  appends: number;
  conflicts: number;
  seconds: number;
  appendsPerCommit: number;
  storedDataBytes: number;
  /** CPU cost of building (and sealing) one event, measured alone: sequential, no store. */
  buildMicros: number;
  keySetupSeconds: number;
  /** CPU of this process over the measured phase, in % of one core. */
  cpuPercent: number;
  /** CPU of the store's server (PostgreSQL) over the measured phase, in % of one core, when known. */
  serverCpuPercent?: number;
}

/** An event store opened for one scenario; `close` also removes what it made (files, schema). */
export interface OpenedStore {
  store: EventStore;
  close(): Promise<void>;
  /** CPU seconds used so far by the store's server processes, if it has any and they can be read. */
  serverCpuSeconds?(): number | undefined;
  /** Runs between the warm-up and the measured phase (diagnosis hooks, e.g. ANALYZE). */
  afterWarmup?(): Promise<void>;
}

/**
 * Opens a fresh, empty store for one scenario. `dir` is the scenario's temp folder;
 * `onCommit(appends)` must be called once per committed group-commit transaction.
 */
export type StoreOpener = (dir: string, onCommit: (appends: number) => void) => Promise<OpenedStore>;

/** The default: a durable SQLite store in the scenario's temp folder. */
export function sqliteStoreOpener(durable: boolean): StoreOpener {
  return async (dir, onCommit) => {
    const store = openSqliteEventStore({ path: join(dir, 'events.sqlite'), durable, onCommit: ({ appends }) => onCommit(appends) });
    return { store, close: () => store.close() };
  };
}

/** Runs one variant × distribution on a fresh store (SQLite unless `open` says otherwise); removes it afterwards. */
export async function runStoreScenario(
  config: StoreAppendConfig,
  variant: Variant,
  distribution: Distribution,
  seed: number,
  /** When set, the measured phase's CPU profile is written here. */
  profileFile?: string,
  open: StoreOpener = sqliteStoreOpener(config.durable),
): Promise<ScenarioFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-bench-store-'));
  let keyStore: KeyStore | undefined;
  let opened: OpenedStore | undefined;
  try {
    const subjects = Array.from({ length: config.streams }, () => uuidv7());
    const streamIds = subjects.map(customerStream);

    let keyring: Keyring | undefined;
    const keysStarted = performance.now();
    if (variant === 'sealed') {
      keyStore = openSqliteKeyStore({ path: join(dir, 'keys.sqlite') });
      keyring = new Keyring({ keyStore, masterKeys: masterKeys(generateMasterKey()), cacheTtlMs: config.keyCacheTtlMs });
      for (const subject of subjects) await keyring.createSubjectKey(subject);
    }
    const keySetupSeconds = (performance.now() - keysStarted) / 1000;

    let commits = 0;
    let committedAppends = 0;
    opened = await open(dir, (appends) => {
      commits++;
      committedAppends += appends;
    });
    const events = eventFactory(variant, config.payloadBytes, keyring);
    const choose = streamChooser(distribution, config.streams, seededRandom(seed), config.zipfS);
    const versions = new Float64Array(config.streams); // 0: the stream does not exist yet
    const openStore = opened.store;

    /** W writers until `target` appends succeeded (or the deadline); latencies of successes into `latencies`. */
    async function drive(target: number, latencies?: Float64Array, deadline = Number.POSITIVE_INFINITY) {
      let started = 0;
      let succeeded = 0;
      let conflicts = 0;
      const writer = async () => {
        while (started < target && performance.now() < deadline) {
          started++;
          const stream = choose();
          const expected = versions[stream]!;
          const t0 = performance.now();
          const event = await events.next(subjects[stream]!);
          try {
            const result = await openStore.append(streamIds[stream]!, [event], { expectedVersion: expected });
            const latency = performance.now() - t0;
            if (latencies) latencies[succeeded] = latency;
            succeeded++;
            versions[stream] = Math.max(versions[stream]!, result.nextExpectedVersion);
          } catch (error) {
            if (!(error instanceof WrongExpectedVersion)) throw error;
            // Another writer got there first: re-read the version (the store reports it) and go on.
            conflicts++;
            started--;
            versions[stream] = Math.max(versions[stream]!, error.actual);
          }
        }
      };
      await Promise.all(Array.from({ length: config.writers }, writer));
      return { succeeded, conflicts };
    }

    await drive(config.warmupAppends);
    await opened.afterWarmup?.();
    const commitsBefore = commits;
    const committedBefore = committedAppends;
    const latencies = new Float64Array(config.appends);
    const profile = profileFile ? await startProfile() : undefined;
    const serverCpuBefore = opened.serverCpuSeconds?.();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const { succeeded, conflicts } = await drive(config.appends, latencies, started + config.maxSeconds * 1000);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const serverCpuAfter = opened.serverCpuSeconds?.();
    if (profileFile) await profile?.stop(profileFile);
    await new Promise((resolve) => setImmediate(resolve)); // let the last onCommit microtask run
    const summary = summarizeLatencies(latencies.subarray(0, succeeded));
    const sample = await events.next(subjects[0]!);
    const buildCount = 5_000;
    const buildStarted = performance.now();
    for (let i = 0; i < buildCount; i++) await events.next(subjects[i % subjects.length]!);
    const buildMicros = ((performance.now() - buildStarted) * 1000) / buildCount;
    return {
      eventsPerSec: succeeded / seconds,
      p50Ms: summary.p50,
      p99Ms: summary.p99,
      appends: succeeded,
      conflicts,
      seconds,
      appendsPerCommit: (committedAppends - committedBefore) / Math.max(1, commits - commitsBefore),
      storedDataBytes: JSON.stringify(sample.data).length,
      buildMicros,
      keySetupSeconds,
      cpuPercent: (cpu.user + cpu.system) / 1e4 / seconds,
      ...(serverCpuBefore !== undefined && serverCpuAfter !== undefined ? { serverCpuPercent: ((serverCpuAfter - serverCpuBefore) * 100) / seconds } : {}),
    };
  } finally {
    await opened?.close();
    await keyStore?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Plaintext and sealed alternate which goes first from run to run, so neither always gets the fresher machine. */
function scenarios(runIndex: number): [Variant, Distribution][] {
  const variants: Variant[] = runIndex % 2 === 0 ? ['plaintext', 'sealed'] : ['sealed', 'plaintext'];
  return (['flat', 'zipf'] as const).flatMap((distribution) => variants.map((variant): [Variant, Distribution] => [variant, distribution]));
}

export const storeAppend: Workload = {
  name: 'store-append',
  title: 'Store level: concurrent single-event appends with expected version (durable SQLite)',
  parameters(options) {
    const config = storeAppendConfig(options);
    const sample = customerDetails(uuidv7(), 1, config.payloadBytes);
    return {
      ...config,
      event: 'CustomerDetailsChanged',
      personalBytesSealed: personalBytes(sample),
      hottestStreamShareZipf: Number(hottestShare('zipf', config.streams, config.zipfS).toFixed(4)),
      latency: 'from building (and sealing) the event to append resolved',
    };
  },
  metrics: [
    { key: 'events/s', digits: 0 },
    { key: 'p50 ms', digits: 2 },
    { key: 'p99 ms', digits: 2 },
    { key: 'conflicts', digits: 0 },
    { key: 'appends/commit', digits: 1 },
    { key: 'stored data bytes', digits: 0 },
    { key: 'build µs/event', digits: 1 },
    { key: 'sealed/plaintext', digits: 3 },
  ],
  goals: [
    { label: 'sealed ≥ 80% of plaintext throughput (flat)', scenario: 'sealed ÷ plaintext (flat)', metric: 'sealed/plaintext', op: '>=', target: 0.8 },
    { label: 'sealed ≥ 80% of plaintext throughput (zipf)', scenario: 'sealed ÷ plaintext (zipf)', metric: 'sealed/plaintext', op: '>=', target: 0.8 },
  ],
  async run(options, runIndex) {
    const config = storeAppendConfig(options);
    const measurements: Measurement[] = [];
    const rate = new Map<string, number>();
    for (const [variant, distribution] of scenarios(runIndex)) {
      const name = `${variant} / ${distribution}`;
      options.log(`  ${name}: ${config.appends} appends, ${config.writers} writers, ${config.streams} streams...`);
      const seed = 1000 * (runIndex + 1) + (distribution === 'zipf' ? 7 : 0);
      const profileFile = options.cpuProfDir ? join(options.cpuProfDir, `store-${variant}-${distribution}-run${runIndex + 1}.cpuprofile`) : undefined;
      const f = await runStoreScenario(config, variant, distribution, seed, profileFile);
      if (f.appends < config.appends) options.log(`  (stopped after ${config.maxSeconds} s with ${f.appends} appends)`);
      options.log(
        `    ${f.eventsPerSec.toFixed(0)} events/s, p50 ${f.p50Ms.toFixed(2)} ms, p99 ${f.p99Ms.toFixed(2)} ms, ` +
          `${f.conflicts} conflicts, ${f.appendsPerCommit.toFixed(1)} appends/commit` +
          (variant === 'sealed' ? ` (key setup ${f.keySetupSeconds.toFixed(1)} s, not measured)` : ''),
      );
      rate.set(name, f.eventsPerSec);
      measurements.push({
        scenario: name,
        metrics: {
          'events/s': f.eventsPerSec,
          'p50 ms': f.p50Ms,
          'p99 ms': f.p99Ms,
          conflicts: f.conflicts,
          'appends/commit': f.appendsPerCommit,
          'stored data bytes': f.storedDataBytes,
          'build µs/event': f.buildMicros,
        },
        notes: { appends: f.appends, seconds: f.seconds },
      });
    }
    for (const distribution of ['flat', 'zipf'] as const) {
      const sealed = rate.get(`sealed / ${distribution}`);
      const plain = rate.get(`plaintext / ${distribution}`);
      if (sealed !== undefined && plain !== undefined) {
        measurements.push({ scenario: `sealed ÷ plaintext (${distribution})`, metrics: { 'sealed/plaintext': sealed / plain } });
      }
    }
    return measurements;
  },
};
