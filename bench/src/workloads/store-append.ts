/**
 * Store level, shaped like the Event Store Benchmark Suite: N streams, 256-byte events,
 * W concurrent writers, one or ten events per append with an expected version. Each writer
 * picks a stream (flat or Zipf), appends with the version it believes current (an in-memory
 * map) and, on WrongExpectedVersion (two writers raced on one stream), takes the store's
 * actual version from the error and counts a conflict. Plaintext vs sealed (real Keyring +
 * sealEvent, one subject key per stream created up front in a SQLite key store).
 * Durable store (the default: fsync per commit), a fresh temp store per scenario.
 *
 * In the same run, the limits of what is underneath (sqlite-raw.ts, aead-raw.ts): the same rows
 * inserted with better-sqlite3 alone, a catch-up read of the filled store against keyset
 * SELECT pages of its file, and sealing/opening against AES-256-GCM from node:crypto alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventStore, type EventToAppend, generateMasterKey, Keyring, type KeyStore, masterKeys, openEvent, WrongExpectedVersion } from '@crm/core';
import { customerStream } from '@crm/domain';
import { openSqliteEventStore, openSqliteKeyStore } from '@crm/sqlite';
import { v7 as uuidv7 } from 'uuid';
import { startProfile } from '../profiler.ts';
import { summarizeLatencies } from '../stats.ts';
import type { BenchOptions, Measurement, Workload } from '../workload.ts';
import { type AeadLimitsConfig, type CryptoRate, runAeadLimits } from './aead-raw.ts';
import { timed } from './cpu-timed.ts';
import { customerDetails, eventFactory, personalBytes, type Variant } from './event-payload.ts';
import { rawCatchUpRead, runRawSqliteInsert } from './sqlite-raw.ts';
import { CATCH_UP_PAGE_SIZE, readAllPages } from './store-catch-up.ts';
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
  /** Events (not appends) per second. */
  eventsPerSec: number;
  /** Per append. */
  p50Ms: number;
  p99Ms: number;
  appends: number;
  events: number;
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

/** The store file sqliteStoreOpener makes in a scenario's temp folder. */
export const SQLITE_STORE_FILE = 'events.sqlite';

/** The default: a durable SQLite store in the scenario's temp folder. */
export function sqliteStoreOpener(durable: boolean): StoreOpener {
  return async (dir, onCommit) => {
    const store = openSqliteEventStore({ path: join(dir, SQLITE_STORE_FILE), durable, onCommit: ({ appends }) => onCommit(appends) });
    return { store, close: () => store.close() };
  };
}

/** A scenario's store after its measured phase, still open. */
export interface FilledStore {
  store: EventStore;
  /** The scenario's temp folder (the store's files are in it). */
  dir: string;
  /** The sealed variant's keyring, its subject keys cached. */
  keyring?: Keyring;
}

/** How a scenario appends beyond the shared config; the defaults are the one-event shape. */
export interface ScenarioShape {
  /** Events per append, all to the one stream the writer picked (default 1). */
  eventsPerAppend?: number;
  /** Runs on the filled store after the measured phase, before it is closed and removed. */
  whenFilled?(filled: FilledStore): Promise<void>;
}

/**
 * Runs one variant × distribution on a fresh store (SQLite unless `open` says otherwise); removes
 * it afterwards. `config.appends` counts appends: with `shape.eventsPerAppend` events each.
 */
export async function runStoreScenario(
  config: StoreAppendConfig,
  variant: Variant,
  distribution: Distribution,
  seed: number,
  /** When set, the measured phase's CPU profile is written here. */
  profileFile?: string,
  open: StoreOpener = sqliteStoreOpener(config.durable),
  shape: ScenarioShape = {},
): Promise<ScenarioFigures> {
  const perAppend = shape.eventsPerAppend ?? 1;
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
      // All at once: the key store group-commits them (500 a transaction), where one at a time
      // would be one fsync each (seconds of setup per scenario, not measured either way).
      const setup = keyring;
      await Promise.all(subjects.map((subject) => setup.createSubjectKey(subject)));
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
          const batch: EventToAppend[] = [];
          for (let i = 0; i < perAppend; i++) batch.push(await events.next(subjects[stream]!));
          try {
            const result = await openStore.append(streamIds[stream]!, batch, { expectedVersion: expected });
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
    await shape.whenFilled?.({ store: openStore, dir, ...(keyring ? { keyring } : {}) });
    return {
      eventsPerSec: (succeeded * perAppend) / seconds,
      p50Ms: summary.p50,
      p99Ms: summary.p99,
      appends: succeeded,
      events: succeeded * perAppend,
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

/** store-append's own settings on top of the shared shape (pg-store-append reuses only the shared part). */
export interface StoreLimitsConfig extends StoreAppendConfig {
  /** Events per append: one (the Event Store Benchmark Suite's shape) and ten. */
  eventsPerAppend: number[];
  /**
   * Appends measured of the ten-event scenarios: half the events of the one-event ones at full
   * size (5,000 appends = 50,000 events, to keep the workload's time down); as many with `--quick`
   * (2,000 appends = 20,000 events: fewer would be a handful of commits).
   */
  multiEventAppends: number;
  /** Warm-up appends of the ten-event scenarios: as many events as the one-event warm-up. */
  multiEventWarmupAppends: number;
  /**
   * Appends' rows per transaction of the raw insert: 64, the most the store's group commit can
   * reach with 64 writers (each has one append in flight; its `appends/commit` is printed).
   */
  rawAppendsPerTransaction: number;
  catchUpPageSize: number;
  aead: AeadLimitsConfig;
}

export function storeLimitsConfig(options: BenchOptions): StoreLimitsConfig {
  const base = storeAppendConfig(options);
  const tenPerAppend = 10;
  return {
    ...base,
    eventsPerAppend: [1, tenPerAppend],
    multiEventAppends: Math.ceil(base.appends / (options.quick ? tenPerAppend : 2 * tenPerAppend)),
    multiEventWarmupAppends: Math.ceil(base.warmupAppends / tenPerAppend),
    rawAppendsPerTransaction: base.writers,
    catchUpPageSize: CATCH_UP_PAGE_SIZE,
    aead: {
      iterations: options.quick ? 10_000 : 50_000,
      warmup: 2_000,
      subjects: base.streams,
      payloadBytes: base.payloadBytes,
      keyCacheTtlMs: base.keyCacheTtlMs,
    },
  };
}

/** The shared config for one events-per-append shape: its appends and warm-up. */
function shapedConfig(config: StoreLimitsConfig, eventsPerAppend: number): StoreAppendConfig {
  if (eventsPerAppend === 1) return config;
  return { ...config, appends: config.multiEventAppends, warmupAppends: config.multiEventWarmupAppends };
}

type Kind = Variant | 'raw';

/** Ours (plaintext, sealed) and raw alternate which goes first from run to run, so none always gets the fresher machine. */
function kinds(runIndex: number): Kind[] {
  return runIndex % 2 === 0 ? ['plaintext', 'sealed', 'raw'] : ['raw', 'sealed', 'plaintext'];
}

const group = (eventsPerAppend: number, distribution: Distribution) => `append ${eventsPerAppend}/${distribution}`;
const rawInsertName = (eventsPerAppend: number, distribution: Distribution, appendsPerTransaction: number) =>
  `${group(eventsPerAppend, distribution)} · limit: raw better-sqlite3 INSERT (${appendsPerTransaction * eventsPerAppend} rows/txn)`;
const CATCH_UP = {
  ours: 'catch-up read all · ours plaintext (readAll pages)',
  raw: 'catch-up read all · limit: raw better-sqlite3 SELECT pages',
  sealed: 'catch-up read all + openEvent · ours sealed',
};

const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);

/**
 * The catch-up read measured on the one-event flat store of `variant` once it is filled: for
 * plaintext, ours (`readAll` pages) against raw keyset SELECT pages of the same file (taking
 * turns going first); for sealed, `readAll` pages and `openEvent` on every event (a projector's
 * work before its own), for information.
 */
function catchUpReads(variant: Variant, config: StoreLimitsConfig, runIndex: number, record: (m: Measurement) => void, log: (line: string) => void) {
  return async ({ store, dir, keyring }: FilledStore) => {
    const head = await store.headPosition();
    const checked = (what: string, read: number) => {
      if (read !== head) throw new Error(`${what} read ${read} events, the head is at ${head}`);
      return read;
    };
    const rateOf = (name: string, phase: { value: number; seconds: number; cpuPercent: number }) => {
      const eventsPerSec = phase.value / phase.seconds;
      log(`    ${name}: ${phase.value} events, ${eventsPerSec.toFixed(0)} events/s, CPU ${phase.cpuPercent.toFixed(0)}%`);
      record({ scenario: name, metrics: { 'read events/s': eventsPerSec, 'cpu %': phase.cpuPercent }, notes: { events: phase.value, seconds: phase.seconds, pageSize: config.catchUpPageSize } });
      return eventsPerSec;
    };
    if (variant === 'sealed') {
      if (!keyring) throw new Error('the sealed store has no keyring');
      const opened = await timed(async () => checked('readAll + openEvent', await readAllPages(store, config.catchUpPageSize, (e) => openEvent(e, keyring))));
      rateOf(CATCH_UP.sealed, opened);
      return;
    }
    const rates: Partial<Record<'ours' | 'raw', number>> = {};
    for (const side of runIndex % 2 === 0 ? (['ours', 'raw'] as const) : (['raw', 'ours'] as const)) {
      const phase =
        side === 'ours'
          ? await timed(async () => checked('readAll', await readAllPages(store, config.catchUpPageSize)))
          : await timed(() => checked('raw SELECT', rawCatchUpRead(join(dir, SQLITE_STORE_FILE), config.catchUpPageSize)));
      rates[side] = rateOf(CATCH_UP[side], phase);
    }
    const r = ratio(rates.ours, rates.raw);
    if (r !== undefined) record({ scenario: 'catch-up read all · ours ÷ raw SELECT', metrics: { 'ours/limit': r } });
  };
}

/** Seal and open, ours against raw AES-256-GCM; appends their rows. */
async function aeadLimits(config: StoreLimitsConfig, runIndex: number, record: (m: Measurement) => void, log: (line: string) => void) {
  log(`  seal / open: ${config.aead.iterations} events each, ours (sealEvent / openEvent, keys cached) and raw node:crypto AES-256-GCM...`);
  const f = await runAeadLimits(config.aead, runIndex % 2 === 0);
  log(`    ${f.plaintextBytes} bytes of personal fields per event (key setup ${f.keySetupSeconds.toFixed(1)} s, not measured)`);
  const recordRate = (name: string, r: CryptoRate) => {
    log(`    ${name}: ${r.opsPerSec.toFixed(0)} ops/s, ${r.microsPerOp.toFixed(2)} µs/op`);
    record({ scenario: name, metrics: { 'ops/s': r.opsPerSec, 'µs/op': r.microsPerOp }, notes: { iterations: config.aead.iterations, plaintextBytes: f.plaintextBytes } });
  };
  for (const op of ['seal', 'open'] as const) {
    recordRate(`${op} · ours ${op === 'seal' ? 'sealEvent' : 'openEvent'}`, f.ours[op]);
    recordRate(`${op} · limit: raw node:crypto AES-256-GCM`, f.raw[op]);
    record({ scenario: `${op} · ours ÷ raw`, metrics: { 'ours/limit': f.ours[op].opsPerSec / f.raw[op].opsPerSec } });
  }
}

export const storeAppend: Workload = {
  name: 'store-append',
  title: "Store level: concurrent appends (1 and 10 events) with expected version (durable SQLite), with the engine's limits (raw better-sqlite3, raw AES-256-GCM)",
  parameters(options) {
    const config = storeLimitsConfig(options);
    const sample = customerDetails(uuidv7(), 1, config.payloadBytes);
    return {
      ...config,
      measured: `${config.appends} appends of 1 event; ${config.multiEventAppends} appends of 10 events (${config.multiEventAppends * 10} events; at full size half the one-event scenarios', to keep the run short)`,
      event: 'CustomerDetailsChanged',
      personalBytesSealed: personalBytes(sample),
      hottestStreamShareZipf: Number(hottestShare('zipf', config.streams, config.zipfS).toFixed(4)),
      latency: 'from building (and sealing) the events of an append to append resolved; per append',
      rawInsert: `bare table from the store's sqlite_master DDL, store's connection pragmas, prepared INSERT, ${config.rawAppendsPerTransaction} appends' rows per BEGIN IMMEDIATE transaction, one thread`,
      catchUp: `readAll pages of ${config.catchUpPageSize} from 0 to the head of the append 1/flat store; raw: keyset SELECT pages of the same file, rows fetched only`,
      aeadRaw: 'node:crypto AES-256-GCM, random 12-byte IV, no AAD, on the JSON of the personal fields; ours: sealEvent / openEvent, real Keyring, keys cached',
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
    { key: 'cpu %', digits: 0 },
    { key: 'read events/s', digits: 0 },
    { key: 'ops/s', digits: 0 },
    { key: 'µs/op', digits: 2 },
    { key: 'ours/limit', digits: 3, ratio: 'limit' },
    { key: 'sealed/plaintext', digits: 3, ratio: 'feature' },
  ],
  goals: [
    { label: 'sealed ≥ 80% of plaintext throughput (1 per append, flat)', scenario: 'append 1/flat · sealed ÷ plaintext', metric: 'sealed/plaintext', op: '>=', target: 0.8 },
    { label: 'sealed ≥ 80% of plaintext throughput (1 per append, zipf)', scenario: 'append 1/zipf · sealed ÷ plaintext', metric: 'sealed/plaintext', op: '>=', target: 0.8 },
  ],
  async run(options, runIndex) {
    const config = storeLimitsConfig(options);
    const appendRows: Measurement[] = [];
    const limitRows: Measurement[] = [];
    const rate = new Map<string, number>();
    const profileFile = (what: string) => (options.cpuProfDir ? join(options.cpuProfDir, `store-${what}-run${runIndex + 1}.cpuprofile`) : undefined);
    for (const distribution of ['flat', 'zipf'] as const) {
      for (const perAppend of config.eventsPerAppend) {
        const shaped = shapedConfig(config, perAppend);
        const seed = 1000 * (runIndex + 1) + (distribution === 'zipf' ? 7 : 0) + (perAppend > 1 ? 100 : 0);
        const events = shaped.appends * perAppend;
        for (const kind of kinds(runIndex)) {
          if (kind === 'raw') {
            const name = rawInsertName(perAppend, distribution, config.rawAppendsPerTransaction);
            options.log(`  ${name}: ${events} rows...`);
            const f = await runRawSqliteInsert(shaped, { eventsPerAppend: perAppend, appendsPerTransaction: config.rawAppendsPerTransaction }, distribution, seed, profileFile(`raw-${perAppend}-${distribution}`));
            if (runIndex === 0 && perAppend === 1 && distribution === 'flat') options.log(`    store's connection settings, copied: ${JSON.stringify(f.template.pragmas)}; ${f.template.indexes} indexes on events`);
            options.log(`    ${f.rowsPerSec.toFixed(0)} rows/s, ${f.transactions} transactions, CPU ${f.cpuPercent.toFixed(0)}%`);
            rate.set(name, f.rowsPerSec);
            appendRows.push({
              scenario: name,
              metrics: { 'events/s': f.rowsPerSec, 'appends/commit': f.rows / perAppend / f.transactions, 'cpu %': f.cpuPercent },
              notes: { rows: f.rows, transactions: f.transactions, seconds: f.seconds, pragmas: f.template.pragmas, indexes: f.template.indexes },
            });
            continue;
          }
          const name = `${group(perAppend, distribution)} · ${kind}`;
          options.log(`  ${name}: ${shaped.appends} appends of ${perAppend} (${events} events), ${config.writers} writers, ${config.streams} streams...`);
          // The catch-up reads need a store of ≥ 100,000 events (at full size): the one-event flat one.
          const whenFilled = perAppend === 1 && distribution === 'flat' ? catchUpReads(kind, config, runIndex, (m) => limitRows.push(m), options.log) : undefined;
          const f = await runStoreScenario(shaped, kind, distribution, seed, profileFile(`${kind}-${perAppend}-${distribution}`), sqliteStoreOpener(config.durable), {
            eventsPerAppend: perAppend,
            ...(whenFilled ? { whenFilled } : {}),
          });
          if (f.appends < shaped.appends) options.log(`  (stopped after ${config.maxSeconds} s with ${f.appends} appends)`);
          options.log(
            `    ${f.eventsPerSec.toFixed(0)} events/s, p50 ${f.p50Ms.toFixed(2)} ms, p99 ${f.p99Ms.toFixed(2)} ms, ` +
              `${f.conflicts} conflicts, ${f.appendsPerCommit.toFixed(1)} appends/commit, CPU ${f.cpuPercent.toFixed(0)}%` +
              (kind === 'sealed' ? ` (key setup ${f.keySetupSeconds.toFixed(1)} s, not measured)` : ''),
          );
          rate.set(name, f.eventsPerSec);
          appendRows.push({
            scenario: name,
            metrics: {
              'events/s': f.eventsPerSec,
              'p50 ms': f.p50Ms,
              'p99 ms': f.p99Ms,
              conflicts: f.conflicts,
              'appends/commit': f.appendsPerCommit,
              'stored data bytes': f.storedDataBytes,
              'build µs/event': f.buildMicros,
              'cpu %': f.cpuPercent,
            },
            notes: { appends: f.appends, events: f.events, seconds: f.seconds },
          });
        }
        const plain = rate.get(`${group(perAppend, distribution)} · plaintext`);
        const sealed = rate.get(`${group(perAppend, distribution)} · sealed`);
        const raw = ratio(plain, rate.get(rawInsertName(perAppend, distribution, config.rawAppendsPerTransaction)));
        if (raw !== undefined) appendRows.push({ scenario: `${group(perAppend, distribution)} · plaintext ÷ raw`, metrics: { 'ours/limit': raw } });
        const seal = ratio(sealed, plain);
        if (seal !== undefined) appendRows.push({ scenario: `${group(perAppend, distribution)} · sealed ÷ plaintext`, metrics: { 'sealed/plaintext': seal } });
      }
    }
    await aeadLimits(config, runIndex, (m) => limitRows.push(m), options.log);
    return [...appendRows, ...limitRows];
  },
};
